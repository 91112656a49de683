// tfjs-core's Node bundle registers kernels' forward passes only; the gradient registry is filled by
// tfjs-layers' bundle on import. Every module that differentiates imports this file first.
import '@tensorflow/tfjs-layers';
