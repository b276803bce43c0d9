// Re-exports the shared CLI runner for the tests that import it from this path.
export { eventually } from '../../fixtures/eventually.ts';
export {
  type CliResult,
  outputOf,
  STRAIT,
  stopProcess,
  strait,
  straitInBackground,
} from '../../fixtures/strait-cli.ts';
