import { REPORT_STYLE, reportBody } from '../core/report/renderHtmlReport.ts';

/** VS Code theme variables for the report's colour slots (light, dark and high-contrast themes). */
const THEME = `:root { --fg: var(--vscode-foreground); --bg: var(--vscode-editor-background); --muted: var(--vscode-descriptionForeground);
--border: var(--vscode-panel-border, var(--vscode-contrastBorder, #8888)); --warn: var(--vscode-editorWarning-foreground); --bad: var(--vscode-errorForeground); }
body { font-family: var(--vscode-font-family); } button { color: var(--vscode-button-foreground); background: var(--vscode-button-background); border: none; padding: 4px 10px; }
[hidden] { display: none !important; }`;

/**
 * The report editor's page. Strict CSP: no network, scripts only with this page's nonce (the bundle
 * from the extension's dist/), styles only from this nonce'd block.
 */
export function reportWebviewHtml(o: { cspSource: string; scriptUri: string; nonce: string; title: string }): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src ${o.cspSource} data:; style-src ${o.cspSource} 'nonce-${o.nonce}'; script-src 'nonce-${o.nonce}';">
<meta name="viewport" content="width=device-width, initial-scale=1">
<style nonce="${o.nonce}">
${THEME}
${REPORT_STYLE}</style></head>
<body>
<p><span id="status" role="status" aria-live="polite">Reading the model…</span> <button id="cancel">Cancel</button></p>
<div id="report" hidden>
${reportBody(o.title)}</div>
<script nonce="${o.nonce}" src="${o.scriptUri}"></script>
</body></html>
`;
}
