/** Fashion-MNIST (and plain MNIST) from the four IDX files, as shipped by Debian's dataset-fashion-mnist. */
import { DataFormatError, type Dataset } from '@advlab/core';
import { statPath } from './files.ts';
import { loadIdxDataset, type IdxDatasetOptions } from './idx.ts';

/** Where Debian's dataset-fashion-mnist package installs the files; `loadFashionMnist` reads it by default. */
export const DEFAULT_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';
/** How to get Fashion-MNIST, appended to the DataMissingError when its files are missing. */
export const FASHION_MNIST_HINT = 'apt-get install dataset-fashion-mnist';

/** Fashion-MNIST's class names; index k names label k. */
export const FASHION_MNIST_CLASSES: readonly string[] = Object.freeze([
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
]);
/** MNIST's class names, the digits '0' to '9'. */
export const MNIST_CLASSES: readonly string[] = Object.freeze(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);

/**
 * Loads Fashion-MNIST from `dir` (60000 train / 10000 test 28×28 grey images, 10 classes).
 * A missing folder or file throws DataMissingError with the install hint.
 */
export function loadFashionMnist(dir: string = DEFAULT_FASHION_MNIST_DIR, opts: Pick<IdxDatasetOptions, 'maxBytes'> = {}): Dataset {
  const st = statPath(dir, FASHION_MNIST_HINT);
  if (!st.isDirectory()) throw new DataFormatError(dir, 'the Fashion-MNIST directory', 'a file');
  return loadIdxDataset(dir, 'fashion-mnist', {
    ...opts,
    numClasses: 10,
    classNames: [...FASHION_MNIST_CLASSES],
    hint: FASHION_MNIST_HINT,
  });
}

/** Loads MNIST-format digits from `dir` (the four IDX files), class names '0'..'9'. */
export function loadMnist(dir: string, opts: Pick<IdxDatasetOptions, 'maxBytes'> = {}): Dataset {
  return loadIdxDataset(dir, 'mnist', { ...opts, numClasses: 10, classNames: [...MNIST_CLASSES] });
}
