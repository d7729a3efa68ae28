/**
 * Draws a 2×2 confusion matrix as a PNG with pngjs (pure JavaScript, no canvas): cells shaded by
 * their count, each count and its share written with a small bitmap font drawn here.
 */
import pngjs from 'pngjs';

const { PNG } = pngjs;

/** 5×7 glyphs, one string of 7 rows of 5 bits per character. */
const GLYPHS: Record<string, readonly string[]> = {
  '0': ['01110', '10001', '10011', '10101', '11001', '10001', '01110'],
  '1': ['00100', '01100', '00100', '00100', '00100', '00100', '01110'],
  '2': ['01110', '10001', '00001', '00010', '00100', '01000', '11111'],
  '3': ['11110', '00001', '00001', '01110', '00001', '00001', '11110'],
  '4': ['00010', '00110', '01010', '10010', '11111', '00010', '00010'],
  '5': ['11111', '10000', '11110', '00001', '00001', '10001', '01110'],
  '6': ['00110', '01000', '10000', '11110', '10001', '10001', '01110'],
  '7': ['11111', '00001', '00010', '00100', '01000', '01000', '01000'],
  '8': ['01110', '10001', '10001', '01110', '10001', '10001', '01110'],
  '9': ['01110', '10001', '10001', '01111', '00001', '00010', '01100'],
  '.': ['00000', '00000', '00000', '00000', '00000', '01100', '01100'],
  '%': ['11001', '11010', '00010', '00100', '01000', '01011', '10011'],
  ' ': ['00000', '00000', '00000', '00000', '00000', '00000', '00000'],
  A: ['01110', '10001', '10001', '11111', '10001', '10001', '10001'],
  C: ['01110', '10001', '10000', '10000', '10000', '10001', '01110'],
  D: ['11110', '10001', '10001', '10001', '10001', '10001', '11110'],
  E: ['11111', '10000', '10000', '11110', '10000', '10000', '11111'],
  F: ['11111', '10000', '10000', '11110', '10000', '10000', '10000'],
  H: ['10001', '10001', '10001', '11111', '10001', '10001', '10001'],
  I: ['01110', '00100', '00100', '00100', '00100', '00100', '01110'],
  L: ['10000', '10000', '10000', '10000', '10000', '10000', '11111'],
  M: ['10001', '11011', '10101', '10101', '10001', '10001', '10001'],
  N: ['10001', '11001', '10101', '10011', '10001', '10001', '10001'],
  O: ['01110', '10001', '10001', '10001', '10001', '10001', '01110'],
  P: ['11110', '10001', '10001', '11110', '10000', '10000', '10000'],
  R: ['11110', '10001', '10001', '11110', '10100', '10010', '10001'],
  S: ['01111', '10000', '10000', '01110', '00001', '00001', '11110'],
  T: ['11111', '00100', '00100', '00100', '00100', '00100', '00100'],
  U: ['10001', '10001', '10001', '10001', '10001', '10001', '01110'],
  X: ['10001', '10001', '01010', '00100', '01010', '10001', '10001'],
  Y: ['10001', '10001', '01010', '00100', '00100', '00100', '00100'],
};

type Rgb = readonly [number, number, number];

class Canvas {
  readonly png: InstanceType<typeof PNG>;
  constructor(
    readonly width: number,
    readonly height: number,
    background: Rgb,
  ) {
    this.png = new PNG({ width, height, colorType: 2 });
    this.rect(0, 0, width, height, background);
  }

  rect(x0: number, y0: number, w: number, h: number, [r, g, b]: Rgb): void {
    for (let y = Math.max(0, y0); y < Math.min(this.height, y0 + h); y++) {
      for (let x = Math.max(0, x0); x < Math.min(this.width, x0 + w); x++) {
        const i = (y * this.width + x) * 4;
        this.png.data[i] = r;
        this.png.data[i + 1] = g;
        this.png.data[i + 2] = b;
        this.png.data[i + 3] = 255;
      }
    }
  }

  /** Width in pixels of `text` at `scale` (glyphs 5 wide, 1 apart). */
  static textWidth(text: string, scale: number): number {
    return text.length === 0 ? 0 : (text.length * 6 - 1) * scale;
  }

  /** Draws `text` centred on (cx, cy); `vertical` turns it 90° counter-clockwise. */
  text(text: string, cx: number, cy: number, scale: number, color: Rgb, vertical = false): void {
    const w = Canvas.textWidth(text, scale);
    const h = 7 * scale;
    [...text.toUpperCase()].forEach((ch, k) => {
      const glyph = GLYPHS[ch] ?? GLYPHS[' ']!;
      glyph.forEach((row, gy) => {
        [...row].forEach((bit, gx) => {
          if (bit !== '1') return;
          const u = k * 6 * scale + gx * scale; // along the text
          const v = gy * scale; // across it
          if (vertical) this.rect(Math.round(cx - h / 2 + v), Math.round(cy + w / 2 - u - scale), scale, scale, color);
          else this.rect(Math.round(cx - w / 2 + u), Math.round(cy - h / 2 + v), scale, scale, color);
        });
      });
    });
  }
}

/**
 * A PNG of a binary confusion matrix `[[tn, fp], [fn, tp]]` (rows: actual, columns: predicted),
 * labelled for churn: each cell shaded from white to blue by its count, with the count and its
 * share of all rows.
 */
export function confusionMatrixPng(matrix: readonly (readonly number[])[], labels: readonly [string, string] = ['no churn', 'churn']): Buffer {
  const cell = 150;
  const left = 110;
  const top = 100;
  const width = left + 2 * cell + 30;
  const height = top + 2 * cell + 30;
  const canvas = new Canvas(width, height, [255, 255, 255]);
  const ink: Rgb = [33, 37, 41];
  canvas.text('confusion matrix', width / 2, 22, 3, ink);
  canvas.text('predicted', left + cell, 52, 2, ink);
  canvas.text('actual', 22, top + cell, 2, ink, true);
  const total = matrix.flat().reduce((s, v) => s + v, 0);
  const max = Math.max(1, ...matrix.flat());
  for (let c = 0; c < 2; c++) canvas.text(labels[c]!, left + c * cell + cell / 2, top - 18, 2, ink);
  for (let r = 0; r < 2; r++) {
    canvas.text(labels[r]!, 66, top + r * cell + cell / 2, 2, ink, true);
    for (let c = 0; c < 2; c++) {
      const value = matrix[r]?.[c] ?? 0;
      const t = value / max;
      // White (t = 0) to a deep blue (t = 1).
      const shade: Rgb = [Math.round(247 - t * (247 - 8)), Math.round(251 - t * (251 - 69)), Math.round(255 - t * (255 - 148))];
      const x = left + c * cell;
      const y = top + r * cell;
      canvas.rect(x, y, cell, cell, shade);
      const text: Rgb = t > 0.45 ? [255, 255, 255] : ink;
      canvas.text(String(value), x + cell / 2, y + cell / 2 - 12, 5, text);
      canvas.text(`${total === 0 ? '0.0' : ((100 * value) / total).toFixed(1)}%`, x + cell / 2, y + cell / 2 + 34, 2, text);
    }
  }
  // Grid lines between and around the cells.
  for (let k = 0; k <= 2; k++) {
    canvas.rect(left + k * cell - 1, top, 2, 2 * cell, [120, 120, 120]);
    canvas.rect(left, top + k * cell - 1, 2 * cell, 2, [120, 120, 120]);
  }
  return PNG.sync.write(canvas.png);
}
