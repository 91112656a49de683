/** @advlab/report: one self-contained HTML report (inline SVG charts, no network) from run directories. */
export { buildReport, writeReport, type ReportOptions, type TableSection } from './report.ts';
export {
  loadSource,
  loadSources,
  readEvalFile,
  readCurvatureFile,
  readMetricsFile,
  readGenerativeEvalFile,
  parseMetricsLine,
  parseGenerativeLine,
  parseRunLine,
  isGenerativeRun,
  IMAGE_FILES,
  GENERATIVE_IMAGE_FILES,
  GENERATIVE_EVAL_FILE,
  GENERATIVE_CURVES,
  type Source,
  type TrainingRun,
  type Evaluation,
  type EvalFile,
  type Curvature,
  type CurvatureFile,
  type GalleryImage,
  type GenerativeRow,
  type GenerativeEval,
  type GenerativeEvalFile,
  type MetricsFile,
} from './load.ts';
export {
  frontierPoints,
  meanDistortionCurve,
  overviewRows,
  paretoFrontier,
  worstAt,
  type FrontierPoint,
  type OverviewRow,
} from './summarize.ts';
export { esc } from './html.ts';
