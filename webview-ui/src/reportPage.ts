/** Entry of the self-contained HTML report: the report is embedded as JSON in the page. */
import type { AnalysisReport } from '../../src/core/report/report.ts';
import { renderReport } from './report/renderReport.ts';

renderReport(JSON.parse(document.getElementById('report-data')!.textContent!) as AnalysisReport);
