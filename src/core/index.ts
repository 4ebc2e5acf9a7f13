/** The spec language: types, parsing with ranges, presets, validation, analysis and descriptions. Pure. */
export * from './types';
export * from './specSchema';
export * from './parse';
export * from './presets';
export * from './analyze';
export * from './format';
export * from './validate';
export * from './specErrors';
export * from './explain';
export * from './template';
export * from './dataKind';
export * from './taskData';
export * from './trainingConfig';
export * from './freeze';
