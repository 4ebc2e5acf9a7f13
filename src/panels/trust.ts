/**
 * What workspace trust allows the inspection panels. A run's checkpoint (model.json, weight files,
 * training_state.json, preprocessing.json) comes from the workspace and is loaded into the engine: only in a
 * trusted workspace. A spec's untrained model is built from the spec alone (validated as the editor does, with
 * random weights): allowed anywhere, as analysing a spec is. No vscode here.
 */

/** Whether `choice` (what the Feature Maps panel inspects) is a spec's untrained model rather than a checkpoint. */
export const isUntrainedModel = (choice: string): boolean => choice.endsWith('.densenet.json');

export const UNTRUSTED_CHECKPOINT =
  "Loading a run's checkpoint is disabled in an untrusted workspace: its model and weight files come from the workspace. Trust this workspace (Manage Workspace Trust) to inspect trained runs; a spec's untrained model can be inspected without trust.";

/** Why `choice` may not be loaded (the message to show), or undefined when it may. */
export function checkpointRefusal(choice: string, trusted: boolean): string | undefined {
  return trusted || isUntrainedModel(choice) ? undefined : UNTRUSTED_CHECKPOINT;
}
