// Embed mode (?embed=1): one experiment in a frame of another page. No header or tabs, the settings
// folded away, a link to the full page; the frame tells its parent its height and each report:
//   { source: 'wrong-labels', type: 'height', height }            (CSS pixels, on every change)
//   { source: 'wrong-labels', type: 'report', experiment, report } (the report the page downloads)

/** Lays the page out for a frame; returns `report(experiment, report)`, which posts a report. */
export function embed() {
  document.body.classList.add('embed');
  for (const form of document.querySelectorAll('form.settings')) {
    const details = document.createElement('details');
    const summary = document.createElement('summary');
    summary.textContent = 'settings';
    form.replaceWith(details);
    details.append(summary, form);
  }
  const full = new URL(location.href);
  for (const name of ['embed', 'autorun']) full.searchParams.delete(name);
  const link = Object.assign(document.createElement('a'), { href: full.href, target: '_blank', rel: 'noopener', textContent: 'Wrong Labels: the full page ↗' });
  link.className = 'full-page';
  document.body.prepend(link);

  const post = (message) => {
    if (window.parent !== window) window.parent.postMessage({ source: 'wrong-labels', ...message }, '*');
  };
  let height = 0;
  new ResizeObserver(() => {
    const now = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (now !== height) post({ type: 'height', height: (height = now) });
  }).observe(document.documentElement);
  return (experiment, report) => post({ type: 'report', experiment, report });
}
