/**
 * The contract between Compare Runs (src/panels/experiments.ts) and its webview (webview/experiments/): the host
 * answers the handshake with the table of runs of a spec or of a folder, acts on a run (rename, notes, delete),
 * reads curves, saves the CSV and opens TensorBoard; it announces the table again whenever a run folder changes.
 */
import type { CurvePoint, ExperimentRow } from '../metrics/experimentTable';
import type { Contract, NoContract } from './rpc';
import type { SaveResult } from './panel';

/** Which runs the table shows: the runs of one spec, or of every spec in a folder. */
export type ExperimentScope = 'spec' | 'folder';

export interface ExperimentsState {
  scope: ExperimentScope;
  /** The spec the panel was opened for (absent: opened for a folder; then only the folder scope). */
  spec?: { name: string; uri: string };
  /** The folder of the folder scope (a URI), and as the user reads it (relative to the workspace when inside it). */
  folderUri: string;
  folderLabel: string;
  rows: ExperimentRow[];
  /** `tensorboard --logdir …` on the runs shown; `available` when `tensorboard` is on PATH. */
  tensorboard: { available: boolean; command: string };
}

export interface RunCurves {
  runDir: string;
  points: CurvePoint[];
}

export interface ExperimentsHost extends Contract {
  requests: {
    state: { params: null; result: ExperimentsState };
    setScope: { params: { scope: ExperimentScope }; result: void };
    /** Asks for the new name (an input box) and stores it in run.json; false when cancelled. */
    rename: { params: { runDir: string }; result: boolean };
    /** Asks for the notes (an input box) and stores them in run.json; false when cancelled. */
    editNotes: { params: { runDir: string }; result: boolean };
    /** Confirms, then moves the run folder to the trash; false when cancelled or refused. */
    deleteRun: { params: { runDir: string }; result: boolean };
    curves: { params: { runDirs: string[] }; result: RunCurves[] };
    /** Saves the table (these columns, rows in this order) as CSV where the user picks. */
    exportCsv: { params: { columns: string[]; order: string[] }; result: SaveResult };
    /** Runs TensorBoard in a terminal when it is on PATH; false when it is not (the page shows the command). */
    openTensorBoard: { params: null; result: boolean };
    copy: { params: { text: string }; result: void };
  };
  events: {
    state: ExperimentsState;
  };
}

export type ExperimentsView = NoContract;

/** What the page keeps across reloads (vscode.setState) and the serializer reads back. */
export interface ExperimentsUiState {
  specUri?: string;
  folder?: string;
  scope?: ExperimentScope;
  selected: string[];
  sort?: { key: string; direction: 'asc' | 'desc' };
  hideEqual: boolean;
  xAxis: 'step' | 'epoch' | 'time';
  logY: boolean;
}
