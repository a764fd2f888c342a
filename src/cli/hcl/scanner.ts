/**
 * The cursor of the CLI's HCL reader: position tracking, blanks and comments, names, and error
 * construction, shared by the template part (./template.ts) and the rest of the syntax (./parse.ts).
 */
import { HclError, type Pos } from "./ast.ts"

export const isIdStart = (c: string | undefined): boolean => c !== undefined && /[\p{L}_]/u.test(c)
export const isIdPart = (c: string | undefined): boolean => c !== undefined && /[\p{L}\p{N}_-]/u.test(c)
export const isDigit = (c: string | undefined): boolean => c !== undefined && c >= "0" && c <= "9"

export class Scanner {
  i = 0
  line = 1
  col = 1
  /** > 0 inside brackets, where newlines are insignificant. */
  nesting = 0

  constructor(readonly src: string) {}

  pos(): Pos {
    return { line: this.line, col: this.col, offset: this.i }
  }

  error(detail: string, at: Pos = this.pos()): HclError {
    return new HclError(at, detail)
  }

  atEnd(): boolean {
    return this.i >= this.src.length
  }

  peek(n = 0): string | undefined {
    return this.src[this.i + n]
  }

  startsWith(s: string): boolean {
    return this.src.startsWith(s, this.i)
  }

  advance(n = 1): void {
    for (let k = 0; k < n && this.i < this.src.length; k++) {
      if (this.src[this.i] === "\n") {
        this.line++
        this.col = 1
      } else this.col++
      this.i++
    }
  }

  describeHere(): string {
    if (this.atEnd()) return "end of file"
    const c = this.peek()!
    return c === "\n" ? "newline" : JSON.stringify(c)
  }

  /** Skips blanks and comments; newlines too when inside brackets or when asked. */
  skip(newlines = this.nesting > 0): void {
    for (;;) {
      const c = this.peek()
      if (c === " " || c === "\t" || c === "\r") this.advance()
      else if (c === "\n" && newlines) this.advance()
      else if (c === "#" || (c === "/" && this.peek(1) === "/")) {
        while (!this.atEnd() && this.peek() !== "\n") this.advance()
      } else if (c === "/" && this.peek(1) === "*") {
        const start = this.pos()
        this.advance(2)
        while (!this.atEnd() && !this.startsWith("*/")) this.advance()
        if (this.atEnd()) throw this.error("unterminated /* comment", start)
        this.advance(2)
      } else return
    }
  }

  expect(s: string, what = JSON.stringify(s)): void {
    this.skip()
    if (!this.startsWith(s)) throw this.error(`expected ${what}, found ${this.describeHere()}`)
    this.advance(s.length)
  }

  ident(): string {
    const start = this.i
    if (!isIdStart(this.peek())) throw this.error(`expected a name, found ${this.describeHere()}`)
    while (isIdPart(this.peek())) this.advance()
    return this.src.slice(start, this.i)
  }

}
