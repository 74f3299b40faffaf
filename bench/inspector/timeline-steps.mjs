// The timeline's full redraw, timed in a page that has a capture loaded: the views of a zoom and
// pan session, each drawn once and timed on the page's thread to the end of the canvas's raster
// (a 1-pixel read waits for it), with a hash of each picture to compare pages by.
/* global window, document */

/**
 * The views, from the whole capture [v0, v1]: zooming in around a third of it (0.8 per step, a
 * wheel notch), then panning (a tenth of the view per step, an arrow key), then zooming out again.
 */
export function redrawViews(v0, v1, steps) {
  const out = [];
  const at = v0 + (v1 - v0) / 3;
  const third = Math.floor(steps / 3);
  for (let k = 0; k < third; k++) {
    v0 = at - (at - v0) * 0.8;
    v1 = at + (v1 - at) * 0.8;
    out.push([v0, v1]);
  }
  for (let k = 0; k < third; k++) {
    const d = (v1 - v0) / 10;
    v0 += d;
    v1 += d;
    out.push([v0, v1]);
  }
  while (out.length < steps) {
    const mid = (v0 + v1) / 2;
    v0 = mid - (mid - v0) * 1.25;
    v1 = mid + (v1 - mid) * 1.25;
    out.push([v0, v1]);
  }
  return out;
}

/** The whole capture's view in the page. */
export const wholeView = (page) => page.evaluate(() => window.__inspector.timeline.view);

/** View [v0, v1] drawn in the page: { ms, hash }. */
export const redraw = (page, [v0, v1]) =>
  page.evaluate(
    ({ v0, v1 }) => {
      const tl = window.__inspector.timeline;
      const cv = document.getElementById('timeline');
      const g = cv.getContext('2d');
      tl.v0 = v0;
      tl.v1 = v1;
      const t = performance.now();
      tl.draw();
      g.getImageData(0, 0, 1, 1);
      const ms = performance.now() - t;
      const px = new Uint32Array(g.getImageData(0, 0, cv.width, cv.height).data.buffer);
      let h = 0x811c9dc5;
      for (let i = 0; i < px.length; i++) h = Math.imul(h ^ px[i], 16777619);
      return { ms, hash: h >>> 0 };
    },
    { v0, v1 },
  );

/** The steps' redraw times in one page (a warm-up pass first), ms each; the view restored after. */
export async function redrawTimes(page, steps) {
  const whole = await wholeView(page);
  const views = redrawViews(whole.v0, whole.v1, steps);
  for (const v of views) await redraw(page, v);
  const ms = [];
  for (const v of views) ms.push((await redraw(page, v)).ms);
  await redraw(page, [whole.v0, whole.v1]);
  return ms;
}
