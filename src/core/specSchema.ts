/**
 * The one description of the `*.densenet.json` spec format (version 1), in Zod: the TypeScript types of a spec
 * come from it (`SpecDocument`, `DataSpec`, `TrainingSection`), the JSON schema VS Code uses for completion and
 * hover (`media/densenet.schema.json`, generated from it at build by `specJsonSchema()`), and the runtime check
 * (`schemaCheck.ts`). Every number has a range (sizes are bounded so that the analysis stays fast), every enum is
 * closed, unknown keys are errors. Pure.
 */
import { z } from 'zod';
import { analyze } from './analyze';
import { PRESETS } from './presets';

/** The bounds of the spec's sizes: above them a spec is refused before any analysis. */
export const SPEC_LIMITS = {
  imageSide: 4096,
  channels: 16,
  classes: 100_000,
  growthRate: 256,
  blocks: 8,
  layersPerBlock: 128,
  /** Dense layers in all the blocks (the deepest preset, DenseNet-264, has 130). */
  layers: 256,
  bnSize: 16,
  numInitFeatures: 1024,
  kernelSize: 15,
  stride: 8,
  epochs: 100_000,
  batchSize: 65_536,
} as const;

const L = SPEC_LIMITS;
const int = (min: number, max: number) => z.int().min(min).max(max);
/** A number in [min, max]; `exclusiveMin`: in (min, max]. */
const num = (min: number, max: number, exclusiveMin = false) =>
  (exclusiveMin ? z.number().gt(min) : z.number().min(min)).max(max);
const path = z.string().max(4096);

const sourceObject = z
  .strictObject({
    format: z
      .enum(['folder', 'idx', 'cifar10', 'cifar100', 'csv', 'segmentation'])
      .optional()
      .meta({
        description: 'How the data is stored; guessed from the files when omitted.',
        enumDescriptions: [
          'One sub-folder per class, classes in alphanumeric order (task multilabel: an image in several class folders has all their labels)',
          'IDX files (MNIST format): give images and labels',
          'CIFAR-10 binary batches',
          'CIFAR-100 binary batches (fine labels)',
          'A CSV manifest (task multilabel): header row; image path (relative to the CSV file), then a "labels" column of names separated by | or one 0/1 column per label',
          'Images and masks (task segmentation): give images and masks',
        ],
      }),
    path: path.optional().meta({ description: 'Folder or file, relative to this spec.' }),
    images: path.optional().meta({
      description:
        'IDX images file (e.g. train-images-idx3-ubyte.gz), or, with masks, the folder of images to segment; relative to this spec.',
    }),
    labels: path
      .optional()
      .meta({ description: 'IDX labels file (e.g. train-labels-idx1-ubyte.gz), relative to this spec.' }),
    masks: path.optional().meta({
      markdownDescription:
        'Segmentation (`"task": "segmentation"`): the folder of masks, relative to this spec. The mask of image `a.jpg` is `a.png`: an 8-bit grayscale or palette PNG whose pixel value is the class index (`data.ignoreIndex` marks pixels to ignore), or an RGB PNG painted in the colours of `data.classList`. Masks are resized to the input by nearest neighbour.',
    }),
  })
  .meta({ description: 'A data source: its format and where its files are.' });

const sourcePath = path.meta({
  description:
    'A path relative to this spec: a folder with one sub-folder per class (PNG, JPEG, WebP, GIF, TIFF), a folder of CIFAR-10/100 binary batches, an IDX images file (MNIST format, .gz allowed), or a CSV manifest (.csv, task multilabel).',
});
const source = z.union([sourcePath, sourceObject]);

const classEntry = z.strictObject({
  name: z.string().min(1).max(200).meta({ description: 'The class name.' }),
  color: z
    .string()
    .regex(/^#[0-9a-fA-F]{6}$/)
    .meta({ description: 'The class colour, "#rrggbb": how RGB masks paint the class, and predicted masks draw it.' }),
});

const split = z.strictObject({
  split: z
    .number()
    .gt(0)
    .lt(1)
    .meta({ description: 'Fraction of the training data held out for validation, in (0, 1).' }),
  seed: z.int().min(0).max(0xffffffff).optional().meta({ description: 'Seed of the split, 0 to 2^32 - 1.' }),
});

const channelStats = z.array(z.number().min(-1e6).max(1e6)).min(1).max(L.channels);

const dataSection = z
  .strictObject({
    train: source.optional().meta({ description: 'Training data.' }),
    validation: z
      .union([sourcePath, sourceObject, split])
      .optional()
      .meta({ description: 'Validation data: its own source, or a seeded split of the training data.' }),
    test: source.optional().meta({ description: 'Test data, used by evaluate.' }),
    normalize: z
      .union([
        z.enum(['auto', 'none']),
        z.strictObject({
          mean: channelStats.meta({ description: 'Mean of each channel.' }),
          std: z
            .array(z.number().gt(0).max(1e6))
            .min(1)
            .max(L.channels)
            .meta({ description: 'Standard deviation of each channel (above 0).' }),
        }),
      ])
      .optional()
      .meta({
        description:
          'Per-channel normalisation: "auto" computes mean/std from a sample of the training data; "none" leaves pixels in [0, 1].',
        default: 'auto',
      }),
    augment: z
      .strictObject({
        randomCrop: z
          .strictObject({
            padding: int(0, 64).optional().meta({ description: 'Zero padding in pixels, 0 to 64.', default: 4 }),
          })
          .optional()
          .meta({ description: 'Random crop after zero padding.' }),
        horizontalFlip: z.boolean().optional().meta({ description: 'Random horizontal flip.', default: false }),
      })
      .optional()
      .meta({
        description:
          'Data augmentation (the paper\'s "+": random crop after 4-pixel zero padding and horizontal flip).',
      }),
    prefetch: int(1, 64).optional().meta({ description: 'Batches prepared ahead of training, 1 to 64.', default: 2 }),
    classList: z
      .array(classEntry)
      .min(2)
      .max(256)
      .optional()
      .meta({
        markdownDescription:
          'Segmentation: the classes in index order, each `{"name", "color": "#rrggbb"}` (2 to 256; their number must equal `classes`). The colours read RGB masks and draw predicted masks. Without it the classes are named "0", "1", ... and drawn in the Pascal VOC palette.',
        examples: [
          [
            { name: 'background', color: '#000000' },
            { name: 'road', color: '#804080' },
          ],
        ],
      }),
    ignoreIndex: int(0, 255)
      .optional()
      .meta({
        description:
          'Segmentation: the mask value (0 to 255) of pixels left out of the loss and the metrics, e.g. 255 for object borders (Pascal VOC). In RGB masks, the gray pixels of that level. Default: none (every mask value must be a class).',
        examples: [255],
      }),
  })
  .meta({ description: 'Where the images come from and how they are prepared.' });

const lrSchedule = z
  .strictObject({
    type: z
      .enum(['constant', 'step', 'cosine'])
      .optional()
      .meta({
        default: 'step',
        enumDescriptions: [
          'Constant learning rate',
          'Multiply by gamma at each milestone (fractions of the epochs)',
          'Cosine decay to 0',
        ],
      }),
    milestones: z
      .array(z.number().gt(0).lt(1))
      .max(32)
      .optional()
      .meta({
        description:
          'Fractions of the epochs, each in (0, 1), where the rate is multiplied by gamma (the paper: 0.5, 0.75).',
        default: [0.5, 0.75],
      }),
    gamma: num(0, 10, true).optional().meta({ description: 'Factor at each milestone, in (0, 10].', default: 0.1 }),
    warmupEpochs: num(0, L.epochs)
      .optional()
      .meta({ description: 'Linear warm-up from 0 over this many epochs.', default: 0 }),
  })
  .meta({ description: 'How the learning rate changes during training.' });

const trainingSection = z
  .strictObject({
    epochs: int(1, L.epochs)
      .optional()
      .meta({ description: `Passes over the training data, 1 to ${L.epochs}.`, default: 10 }),
    batchSize: int(1, L.batchSize)
      .optional()
      .meta({
        description: `Images per step, 1 to ${L.batchSize}; also the batch of the training memory estimate.`,
        default: 32,
      }),
    optimizer: z
      .enum(['sgd', 'adam', 'adamw'])
      .optional()
      .meta({
        default: 'sgd',
        enumDescriptions: ['SGD with momentum (the paper: 0.9, Nesterov)', 'Adam', 'Adam with decoupled weight decay'],
      }),
    learningRate: num(0, 10).optional().meta({
      description: 'In [0, 10] (0 trains nothing but batch-norm statistics); default 0.1 for SGD, 0.001 for Adam(W).',
      default: 0.1,
    }),
    momentum: num(0, 1).optional().meta({ description: 'SGD momentum, in [0, 1].', default: 0.9 }),
    nesterov: z.boolean().optional().meta({ description: 'Nesterov momentum (SGD).', default: true }),
    weightDecay: num(0, 1)
      .optional()
      .meta({ description: 'L2 weight decay, in [0, 1] (decoupled for adamw).', default: 0.0001 }),
    lrSchedule: lrSchedule.optional(),
    lossWeights: z
      .array(z.number().gt(0).max(1e6))
      .min(1)
      .max(L.classes)
      .optional()
      .meta({
        markdownDescription:
          "Weights of the loss, one per class (or label), each above 0: for `multilabel`, the weight of each label's positive examples in the binary cross-entropy (PyTorch's `pos_weight`, e.g. negatives/positives of a rare finding); for `segmentation` and `classification`, the weight of each class in the cross-entropy (PyTorch's `weight`: the loss is the weighted mean). Default: all 1.",
        examples: [[1, 2.5, 1]],
      }),
    earlyStopping: z
      .strictObject({
        monitor: z
          .enum(['val_loss', 'val_accuracy', 'loss', 'accuracy', 'val_mean_auroc', 'val_mean_iou'])
          .optional()
          .meta({
            default: 'val_loss',
            markdownDescription:
              'The figure watched: `val_loss`, `val_accuracy`, `loss`, `accuracy`; `val_mean_auroc` for a `multilabel` task, `val_mean_iou` for `segmentation`. The `val_` ones need validation data.',
          }),
        patience: int(1, 10_000)
          .optional()
          .meta({ description: 'Epochs without improvement before stopping, 1 to 10000.', default: 5 }),
        minDelta: num(0, 1e6)
          .optional()
          .meta({ description: 'Smallest change that counts as improvement.', default: 0 }),
      })
      .optional()
      .meta({ description: 'Stop when the monitored metric stops improving.' }),
    seed: z
      .int()
      .min(0)
      .max(0xffffffff)
      .optional()
      .meta({ description: 'Makes a run reproducible on the same backend; 0 to 2^32 - 1.' }),
    memoryEfficient: z.boolean().optional().meta({
      description:
        'Recompute batch-norm and concatenation outputs in the backward pass instead of storing them (Pleiss et al. 2017).',
      default: false,
    }),
    freeze: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .meta({
        markdownDescription:
          'Layers that keep their weights (fine-tuning): `"none"`, `"backbone"` (all but the classifier `predictions`; the pooled features are then computed once and cached), or a part (`"conv1"` the stem, `"conv2"`.. the dense blocks, `"pool2"`.. the transitions) or layer name, frozen with everything before it. Frozen batch norms use their moving statistics and do not update them.',
        default: 'none',
        examples: ['none', 'backbone', 'conv3', 'pool3'],
      }),
    backboneLearningRate: num(0, 10).optional().meta({
      description:
        'Learning rate of the layers that are not frozen and not the classifier, in [0, 10] (the classifier uses learningRate); it follows the same schedule. Default: learningRate.',
    }),
  })
  .meta({ description: 'How the model is trained.' });

const stem = z
  .strictObject({
    kernelSize: int(1, L.kernelSize)
      .optional()
      .meta({
        description: `Stem convolution size, 1 to ${L.kernelSize}: 7 (ImageNet) or 3 (CIFAR).`,
        default: 7,
        examples: [3, 7],
      }),
    stride: int(1, L.stride)
      .optional()
      .meta({
        description: `Stem convolution stride, 1 to ${L.stride}: 2 (ImageNet) or 1 (CIFAR).`,
        default: 2,
        examples: [1, 2],
      }),
    pool: z
      .enum(['max', 'none'])
      .optional()
      .meta({
        default: 'max',
        enumDescriptions: ['3x3 max pooling with stride 2 (ImageNet)', 'No pooling (CIFAR)'],
      }),
    norm: z.boolean().optional().meta({
      description: "Batch-norm + ReLU after the stem convolution (ImageNet: true; the paper's CIFAR models: false).",
      default: true,
    }),
  })
  .meta({
    description: 'The first convolution (and pooling) before the dense blocks.',
    defaultSnippets: [
      { label: 'ImageNet stem', body: { kernelSize: 7, stride: 2, pool: 'max', norm: true } },
      { label: 'CIFAR stem', body: { kernelSize: 3, stride: 1, pool: 'none', norm: false } },
    ],
  });

const presetNames = PRESETS.map((p) => p.name) as [string, ...string[]];

const modelSection = z
  .strictObject({
    preset: z
      .enum(presetNames)
      .optional()
      .meta({
        markdownDescription: 'Start from a published DenseNet; explicit fields override it.',
        enumDescriptions: PRESETS.map((p) => p.description),
      }),
    weights: z
      .string()
      .min(1)
      .max(4096)
      .optional()
      .meta({
        markdownDescription:
          "Start from pretrained weights: a file (PyTorch `.pth`, `.safetensors`, Keras `.h5`, `.onnx`; a path relative to this spec), a DenseNet Lab run or checkpoint folder, or a known name such as `torchvision:densenet121` or `keras:densenet121` (downloaded once). When `classes` differs from the weights', the classifier is replaced.",
        examples: ['torchvision:densenet121', 'keras:densenet121', 'weights/densenet121.pth'],
      }),
    growthRate: int(1, L.growthRate)
      .optional()
      .meta({
        markdownDescription: `Growth rate **k**, 1 to ${L.growthRate}: each layer of a dense block adds k feature maps. The paper uses 12, 24, 32, 40, 48.`,
        default: 32,
        examples: [12, 24, 32, 48],
      }),
    blockConfig: z
      .array(int(1, L.layersPerBlock))
      .min(1)
      .max(L.blocks)
      .refine((blocks) => blocks.reduce((a, b) => a + b, 0) <= L.layers, {
        message: `must have at most ${L.layers} layers in all (the deepest preset, DenseNet-264, has 130): sizes are bounded so that the spec can be analysed`,
      })
      .optional()
      .meta({
        markdownDescription: `Number of layers in each dense block (1 to ${L.blocks} blocks of 1 to ${L.layersPerBlock} layers, at most ${L.layers} in all), e.g. \`[6, 12, 24, 16]\` (DenseNet-121). A transition (1x1 conv + 2x2 average pool) follows every block but the last.`,
        default: [6, 12, 24, 16],
      }),
    bnSize: int(0, L.bnSize)
      .optional()
      .meta({
        markdownDescription: `Bottleneck width multiplier, 0 to ${L.bnSize}: each layer starts with a 1x1 convolution to bnSize·k channels (4 in DenseNet-B/BC). \`0\` = no bottleneck.`,
        default: 4,
        examples: [0, 4],
      }),
    compression: num(0, 1, true)
      .optional()
      .meta({
        markdownDescription:
          'Compression θ in (0, 1]: a transition keeps floor(θ·m) of its m channels (0.5 in DenseNet-C/BC, 1 = none).',
        default: 0.5,
        examples: [0.5, 1],
      }),
    numInitFeatures: int(1, L.numInitFeatures)
      .optional()
      .meta({
        markdownDescription: `Filters of the stem convolution, 1 to ${L.numInitFeatures} (64 for DenseNet-121, 96 for DenseNet-161, 2k for DenseNet-BC on CIFAR).`,
        default: 64,
      }),
    stem: stem.optional(),
    bottleneckLayers: int(1, L.layersPerBlock)
      .optional()
      .meta({
        markdownDescription: `FC-DenseNet (\`"task": "segmentation"\`): layers of the dense block between the down and the up path, 1 to ${L.layersPerBlock} (15 in FC-DenseNet103).`,
        examples: [4, 5, 15],
      }),
    upBlockConfig: z.array(int(1, L.layersPerBlock)).min(1).max(L.blocks).optional().meta({
      markdownDescription:
        'FC-DenseNet (`"task": "segmentation"`): layers of each up-path dense block, coarsest first, one per down block (`blockConfig`); the down path mirrored by default, e.g. `[12, 10, 7, 5, 4]` (FC-DenseNet103). Each follows a transition up (3x3/2 transposed convolution) and the skip connection from the down block of the same resolution.',
    }),
    dropRate: z.number().min(0).lt(1).optional().meta({
      description:
        "Dropout rate after each convolution except the stem's, in [0, 1). The paper uses 0.2 without data augmentation.",
      default: 0,
    }),
  })
  .meta({
    description:
      'The DenseNet (Huang et al. 2017). A preset expands into these fields; fields written here override it.',
  });

const side = (what: string) =>
  int(1, L.imageSide)
    .optional()
    .meta({ description: `${what} in pixels, 1 to ${L.imageSide}.`, default: 224, examples: [28, 32, 64, 224] });

const inputSection = z
  .strictObject({
    height: side('Height'),
    width: side('Width'),
    channels: int(1, L.channels)
      .optional()
      .meta({ description: `1 for grayscale, 3 for RGB (at most ${L.channels}).`, default: 3, examples: [1, 3] }),
  })
  .meta({
    description: 'Image size the network takes; images are resized to it. A preset gives a default.',
    defaultSnippets: [
      { label: 'RGB 32x32', body: { height: 32, width: 32, channels: 3 } },
      { label: 'RGB 224x224', body: { height: 224, width: 224, channels: 3 } },
      { label: 'Grayscale 28x28', body: { height: 28, width: 28, channels: 1 } },
    ],
  });

/** The spec, version 1. */
export const specSchema = z
  .strictObject({
    $schema: z.string().max(4096).optional(),
    version: z
      .literal(1)
      .optional()
      .meta({ description: 'Spec format version. This DenseNet Lab reads version 1.', default: 1 }),
    name: z
      .string()
      .max(200)
      .optional()
      .meta({ description: "The model's name (at most 200 characters): runs are kept under .densenet/runs/<name>/." }),
    description: z.string().max(100_000).optional().meta({ description: 'Free text.' }),
    task: z
      .enum(['classification', 'multilabel', 'segmentation'])
      .optional()
      .meta({
        markdownDescription:
          'What the network predicts: `classification` (one class per image; the default), `multilabel` (any number of labels per image, a sigmoid per label: data as a CSV manifest or class folders that share images) or `segmentation` (a class for every pixel, with an FC-DenseNet: start from preset `fc-densenet103`; data as images and masks). A preset gives a default.',
        enumDescriptions: [
          'One class per image: dense blocks, global average pooling and a softmax classifier.',
          'Any number of labels per image (CheXNet-style): dense blocks, global average pooling and a sigmoid per label, binary cross-entropy.',
          'A class per pixel: an FC-DenseNet (Jégou et al. 2017) with a down path, a bottleneck block and an up path with skip connections.',
        ],
      }),
    input: inputSection.optional(),
    classes: int(2, L.classes)
      .optional()
      .meta({
        description: `Number of output classes, 2 to ${L.classes}: the predictions layer has one output per class. A preset gives a default.`,
        default: 10,
        examples: [10, 100, 1000],
      }),
    model: modelSection.optional(),
    data: dataSection.optional(),
    training: trainingSection.optional(),
  })
  .meta({ title: 'DenseNet Lab model spec (version 1)' });

/** The spec as written (every field optional: the validator reports what is missing). */
export type SpecDocument = z.infer<typeof specSchema>;
/** The spec's `data` section. */
export type DataSpec = z.infer<typeof dataSection>;
/** A data source: a path, or an object with its format and files. */
export type DataSource = z.infer<typeof source>;
export type DataSourceObject = z.infer<typeof sourceObject>;
/** The spec's `training` section. */
export type TrainingSection = z.infer<typeof trainingSection>;
export { trainingSection as trainingSectionSchema };

/**
 * The JSON schema (draft 7) VS Code uses for `*.densenet.json`, generated from `specSchema`; each preset's
 * completion entry also gives its trainable parameters, from the analysis.
 */
export function specJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(specSchema, { target: 'draft-7', io: 'input', unrepresentable: 'any' });
  const model = (generated.properties as Record<string, { properties: Record<string, Record<string, unknown>> }>).model;
  model.properties.preset.enumDescriptions = PRESETS.map((p) => {
    const params = analyze(p.model, p.input, p.classes).totals.trainableParams;
    return `${p.description}; ${(params / 1e6).toFixed(2)}M parameters`;
  });
  return { ...generated, $id: 'https://densenet-lab.invalid/densenet.schema.json' };
}
