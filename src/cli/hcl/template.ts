/**
 * Templates of HCL's native syntax: quoted strings (escapes, `$${`/`%%{`), heredocs (`<<EOT`, and
 * `<<-EOT` without its common indentation), `${…}` interpolations, `%{if}`/`%{for}` directives and
 * `~` strip markers. The expressions inside are parsed by ./parse.ts (`expr`).
 */
import type { Expr, TemplatePart } from "./ast.ts"
import { Scanner } from "./scanner.ts"

export abstract class TemplateParser extends Scanner {
  abstract expr(): Expr

  quoted(): Expr {
    const pos = this.pos()
    this.advance() // "
    const { parts, end } = this.templateParts({ quoted: true, end: this.src.length, flush: 0 }, [])
    if (end !== "\"") throw this.error(end === "" ? "unterminated string" : `unexpected %{${end}}`, pos)
    return { k: "template", parts, pos }
  }

  heredoc(): Expr {
    const pos = this.pos()
    this.advance(2)
    const indent = this.peek() === "-"
    if (indent) this.advance()
    const marker = this.ident()
    if (this.peek() === "\r") this.advance()
    if (this.peek() !== "\n") throw this.error("a heredoc marker must be followed by a newline")
    this.advance()
    // the content ends at the line holding only the marker
    const lines = this.src.slice(this.i).split("\n")
    let length = 0
    let closing = -1
    for (let n = 0; n < lines.length; n++) {
      if (lines[n]!.trim() === marker) {
        closing = n
        break
      }
      length += lines[n]!.length + 1
    }
    if (closing === -1) throw this.error(`heredoc without its closing "${marker}" line`, pos)
    const content = lines.slice(0, closing)
    const flush = indent
      ? Math.min(...content.filter((l) => l.trim() !== "").map((l) => /^[ \t]*/.exec(l)![0].length), Number.MAX_SAFE_INTEGER)
      : 0
    const end = this.i + length
    const { parts } = this.templateParts({ quoted: false, end, flush: flush === Number.MAX_SAFE_INTEGER ? 0 : flush }, [])
    this.advance(end - this.i)
    while (this.peek() === " " || this.peek() === "\t") this.advance()
    this.advance(marker.length)
    return { k: "template", parts, pos }
  }

  /**
   * Template parts up to the end (`"` when quoted, else the `end` offset) or a closing directive
   * named in `closers` (`else`, `endif`, `endfor`), which is returned as `end`.
   */
  templateParts(
    mode: { readonly quoted: boolean; readonly end: number; readonly flush: number },
    closers: ReadonlyArray<string>
  ): { parts: Array<TemplatePart>; end: string } {
    const parts: Array<TemplatePart> = []
    let text = ""
    let stripNext = false
    let lineStart = true
    const flushText = (stripTrailing: boolean) => {
      let t = text
      if (stripTrailing) t = t.replace(/\s+$/u, "")
      if (t !== "") parts.push({ k: "text", text: t })
      text = ""
    }
    const saved = this.nesting
    this.nesting = 0
    const finish = (end: string) => {
      this.nesting = saved
      return { parts, end }
    }
    for (;;) {
      if (this.i >= mode.end) {
        flushText(false)
        return finish("")
      }
      if (lineStart && mode.flush > 0) {
        let n = 0
        while (n < mode.flush && (this.peek() === " " || this.peek() === "\t") && this.i < mode.end) {
          this.advance()
          n++
        }
        lineStart = false
        continue
      }
      const c = this.peek()!
      if (mode.quoted && c === "\"") {
        this.advance()
        flushText(false)
        return finish("\"")
      }
      if (mode.quoted && c === "\n") throw this.error("unterminated string (a quoted string cannot span lines; use a heredoc)")
      if ((c === "$" || c === "%") && this.peek(1) === c && this.peek(2) === "{") {
        text += `${c}{`
        this.advance(3)
        continue
      }
      if ((c === "$" || c === "%") && this.peek(1) === "{") {
        const pos = this.pos()
        this.advance(2)
        let strip = false
        if (this.peek() === "~") {
          this.advance()
          strip = true
        }
        flushText(strip)
        this.nesting = 1
        if (c === "$") {
          const expr = this.expr()
          stripNext = this.closeSequence()
          parts.push({ k: "interp", expr })
        } else {
          this.skip()
          const word = this.ident()
          if (closers.includes(word)) {
            stripNext = this.closeSequence()
            return finish(word)
          }
          if (word === "if") {
            const cond = this.expr()
            stripNext = this.closeSequence()
            const then = this.templateParts(mode, ["else", "endif"])
            let otherwise: ReadonlyArray<TemplatePart> = []
            if (then.end === "else") {
              const rest = this.templateParts(mode, ["endif"])
              if (rest.end !== "endif") throw this.error("%{if} without its %{endif}", pos)
              otherwise = rest.parts
            } else if (then.end !== "endif") throw this.error("%{if} without its %{endif}", pos)
            parts.push({ k: "if", cond, then: then.parts, else: otherwise, pos })
          } else if (word === "for") {
            this.skip()
            let keyVar: string | undefined
            let valVar = this.ident()
            this.skip()
            if (this.peek() === ",") {
              this.advance()
              this.skip()
              keyVar = valVar
              valVar = this.ident()
            }
            this.skip()
            if (!this.startsWith("in")) throw this.error("expected \"in\" in %{for}")
            this.advance(2)
            const coll = this.expr()
            stripNext = this.closeSequence()
            const inner = this.templateParts(mode, ["endfor"])
            if (inner.end !== "endfor") throw this.error("%{for} without its %{endfor}", pos)
            parts.push({ k: "for", ...(keyVar !== undefined ? { keyVar } : {}), valVar, coll, body: inner.parts, pos })
          } else throw this.error(`unknown template directive %{${word}}`, pos)
        }
        this.nesting = 0
        continue
      }
      if (mode.quoted && c === "\\") {
        text += this.escape()
        continue
      }
      if (stripNext) {
        if (/\s/u.test(c)) {
          if (c === "\n") lineStart = true
          this.advance()
          continue
        }
        stripNext = false
      }
      text += c
      if (c === "\n") lineStart = true
      this.advance()
    }
  }

  /** The `}` (or `~}`) closing an interpolation or directive; true when it strips what follows. */
  closeSequence(): boolean {
    this.skip()
    let strip = false
    if (this.peek() === "~") {
      this.advance()
      strip = true
    }
    if (this.peek() !== "}") throw this.error(`expected "}" to close the template sequence, found ${this.describeHere()}`)
    this.advance()
    return strip
  }

  escape(): string {
    const pos = this.pos()
    this.advance() // backslash
    const c = this.peek()
    this.advance()
    switch (c) {
      case "n":
        return "\n"
      case "r":
        return "\r"
      case "t":
        return "\t"
      case "\"":
        return "\""
      case "\\":
        return "\\"
      case "u":
      case "U": {
        const n = c === "u" ? 4 : 8
        const hex = this.src.slice(this.i, this.i + n)
        if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== n) throw this.error(`invalid \\${c} escape`, pos)
        this.advance(n)
        return String.fromCodePoint(parseInt(hex, 16))
      }
      default:
        throw this.error(`invalid escape sequence \\${c ?? ""}`, pos)
    }
  }
}
