/**
 * A small stage renderer for the demo. On a TTY, the running stage is one live line redrawn ten times a second:
 * a spinner, `[i/N]`, its title, a bar (a fraction, or a moving block while the amount of work is unknown), a detail
 * and the elapsed time; a finished stage stays as a ✔ / ✖ line and notes print above the live line. Elsewhere (a pipe,
 * a CI log, a test) every finished stage and every note is one plain line, with no control characters.
 */

export interface ProgressOptions {
  /** Number of stages, for `[i/N]`. */
  total: number;
  /** Where to write (default process.stdout). */
  out?: NodeJS.WriteStream;
  /** Live redraws (default: `out.isTTY`). */
  tty?: boolean;
  /** ANSI colours (default: a TTY without NO_COLOR). */
  color?: boolean;
}

const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
const BAR_CELLS = 24;
const TITLE_WIDTH = 16;

/** `1234` ms as "1.2 s". */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/**
 * A text bar of `cells` cells: `fraction` in [0, 1] fills from the left; undefined draws a block of 4 cells that
 * moves back and forth with `tick` (work of unknown length).
 */
export function bar(fraction: number | undefined, tick = 0, cells = BAR_CELLS): string {
  if (fraction === undefined) {
    const width = 4;
    const span = cells - width;
    const period = span * 2;
    const t = tick % period;
    const at = t <= span ? t : period - t;
    return "░".repeat(at) + "█".repeat(width) + "░".repeat(cells - width - at);
  }
  const f = Math.min(1, Math.max(0, fraction));
  const full = Math.round(f * cells);
  return "█".repeat(full) + "░".repeat(cells - full);
}

export class Stage {
  readonly title: string;
  readonly index: number;
  readonly startedAt = Date.now();
  fraction: number | undefined;
  detail = "";
  #progress: Progress;
  #ended = false;

  constructor(progress: Progress, index: number, title: string) {
    this.#progress = progress;
    this.index = index;
    this.title = title;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Sets the bar (`fraction`, or undefined for unknown) and/or the detail text. */
  update(p: { fraction?: number | undefined; detail?: string }): void {
    if ("fraction" in p) this.fraction = p.fraction;
    if (p.detail !== undefined) this.detail = p.detail;
    this.#progress.redraw();
  }

  done(detail?: string): void {
    if (this.#ended) return;
    this.#ended = true;
    if (detail !== undefined) this.detail = detail;
    this.fraction = 1;
    this.#progress.finish(this, true);
  }

  fail(detail?: string): void {
    if (this.#ended) return;
    this.#ended = true;
    if (detail !== undefined) this.detail = detail;
    this.#progress.finish(this, false);
  }
}

export class Progress {
  readonly total: number;
  readonly tty: boolean;
  readonly color: boolean;
  #out: NodeJS.WriteStream;
  #count = 0;
  #current: Stage | undefined;
  #timer: NodeJS.Timeout | undefined;
  #tick = 0;
  #live = false;

  constructor(o: ProgressOptions) {
    this.total = o.total;
    this.#out = o.out ?? process.stdout;
    this.tty = o.tty ?? Boolean(this.#out.isTTY);
    this.color = o.color ?? (this.tty && !process.env.NO_COLOR);
  }

  /** Starts the next stage (ending the previous one as done if it was left open). */
  stage(title: string, detail = ""): Stage {
    this.#current?.done();
    const s = new Stage(this, ++this.#count, title);
    s.detail = detail;
    this.#current = s;
    if (this.tty) {
      this.#timer ??= setInterval(() => {
        this.#tick++;
        this.redraw();
      }, 100);
      this.#timer.unref();
      this.redraw();
    }
    return s;
  }

  /** A line of its own (indented under the stages). */
  note(line: string): void {
    this.#clearLive();
    this.#out.write(`      ${line}\n`);
    this.redraw();
  }

  /** Plain text, unindented (the summary). */
  print(text: string): void {
    this.#clearLive();
    this.#out.write(text.endsWith("\n") ? text : `${text}\n`);
    this.redraw();
  }

  /** Stops redrawing (fails the open stage when `failed`). */
  close(failed = false): void {
    if (this.#current && !this.#current.ended) {
      if (failed) this.#current.fail();
      else this.#current.done();
    }
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#clearLive();
  }

  /** @internal */
  finish(s: Stage, ok: boolean): void {
    this.#clearLive();
    const mark = ok ? this.#paint("32", "✔") : this.#paint("31", "✖");
    const elapsed = seconds(Date.now() - s.startedAt);
    const head = `${mark} ${this.#counter(s)} ${s.title.padEnd(TITLE_WIDTH)}`;
    const body = this.tty ? ` ${this.#paint(ok ? "32" : "31", bar(ok ? 1 : (s.fraction ?? 0)))}` : "";
    this.#out.write(`${head}${body} ${s.detail} ${this.#paint("2", `(${elapsed})`)}\n`);
    if (this.#current === s) this.#current = undefined;
  }

  /** @internal Redraws the live line (TTY only). */
  redraw(): void {
    const s = this.#current;
    if (!this.tty || !s || s.ended) return;
    const spin = SPINNER[this.#tick % SPINNER.length]!;
    const pct = s.fraction === undefined ? "    " : `${String(Math.round(s.fraction * 100)).padStart(3)}%`;
    const elapsed = seconds(Date.now() - s.startedAt);
    const head = `${spin} ${this.#counter(s)} ${s.title.padEnd(TITLE_WIDTH)} `;
    const meter = `${bar(s.fraction, this.#tick)} ${pct} `;
    // One screen row, or `\r` would only clear the last row of a wrapped line: shorten the detail to fit.
    const room = (this.#out.columns || 120) - 1 - head.length - meter.length - elapsed.length - 1;
    const detail = s.detail.length > room ? `${s.detail.slice(0, Math.max(0, room - 1))}…` : s.detail;
    const line =
      `${this.#paint("36", spin)}${head.slice(1)}${this.#paint("36", meter.slice(0, BAR_CELLS))}` +
      `${meter.slice(BAR_CELLS)}${detail} ${this.#paint("2", elapsed)}`;
    this.#out.write(`\r\x1b[2K${line}`);
    this.#live = true;
  }

  /** `[ 3/14]`: padded so that titles line up. */
  #counter(s: Stage): string {
    return `[${String(s.index).padStart(String(this.total).length)}/${this.total}]`;
  }

  #clearLive(): void {
    if (this.#live) this.#out.write("\r\x1b[2K");
    this.#live = false;
  }

  #paint(code: string, text: string): string {
    return this.color ? `\x1b[${code}m${text}\x1b[0m` : text;
  }
}
