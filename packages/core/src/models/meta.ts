/** advlab's own metadata, stored under the `advlab` key of model.json. Extra keys round-trip as is. */
export interface ModelMeta {
  dataset?: string;
  classNames?: string[];
  inputShape?: [number, number, number];
  numClasses?: number;
  /** Free-form description of training (attack, eps, epochs, seed, ...). */
  trainedWith?: Record<string, unknown>;
  [key: string]: unknown;
}
