/** What every export format gives the command: reducers for the run's events, and a last word. */
import type { Reducer } from '../reduce/reducer.js';

export interface Exporter {
  /** Fed every event of the run, in order (they write to the export's Out). */
  reducers: Reducer[];
  /** Called once after the last event: whatever closes the document. */
  finish(): void;
}
