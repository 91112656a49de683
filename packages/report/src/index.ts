/** @advlab/report: one self-contained HTML report (inline SVG charts, no network) from run directories. */
export { buildReport, writeReport, type ReportOptions, type TableSection } from './report.ts';
export {
  loadSource,
  loadSources,
  readEvalFile,
  readCurvatureFile,
  readMetricsFile,
  parseMetricsLine,
  IMAGE_FILES,
  type Source,
  type TrainingRun,
  type Evaluation,
  type EvalFile,
  type Curvature,
  type CurvatureFile,
  type GalleryImage,
} from './load.ts';
export { frontierPoints, overviewRows, paretoFrontier, worstAt, type FrontierPoint, type OverviewRow } from './summarize.ts';
export { esc } from './html.ts';
