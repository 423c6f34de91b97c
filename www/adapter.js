// What a WebGPU adapter is, read the same way by the page (which decides whether the GPU module is
// worth downloading) and by the worker (which names the adapter in the report).

/** The adapter's name, and whether it is a software emulation (SwiftShader, a fallback adapter). */
export function describeAdapter(adapter) {
  const info = adapter.info || {};
  const software = Boolean(adapter.isFallbackAdapter || info.isFallbackAdapter || /swiftshader|llvmpipe|lavapipe/i.test(`${info.architecture} ${info.description} ${info.vendor} ${info.device}`));
  const name = [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'an unnamed GPU';
  return { name: software ? `${name} (a software emulation)` : name, software };
}
