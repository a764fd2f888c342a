/**
 * What every config value module shares: a `TextCodec` (how a value written as text in a config
 * is parsed into its domain value, or why it cannot be, and how the value is written back), and
 * `quote` for echoing user input in a reason without flooding a log.
 */
import { Result } from "effect"

/**
 * A config value written as text. `parse` says why the text is wrong (a reason without the field:
 * the decoder adds the field path); `format` writes a value back as text that `parse` reads as the
 * same value (the driver stores configs in this form, see DriverState).
 */
export interface TextCodec<A> {
  readonly parse: (text: string) => Result.Result<A, string>
  readonly format: (value: A) => string
}

/** The longest piece of user input repeated in a reason, an error or a log line. */
export const QUOTE_LIMIT = 200

/** `text` as a JSON string for a reason; long input is cut with its length said. */
export const quote = (text: string): string =>
  text.length > QUOTE_LIMIT ? `${JSON.stringify(text.slice(0, QUOTE_LIMIT))}… (${text.length} characters)` : JSON.stringify(text)

/**
 * `text` as it is, or its first `limit` characters and its length: what an error or a log line
 * may repeat of a value it did not choose (hostile input must not flood the agent's log).
 */
export const boundedText = (text: string, limit = QUOTE_LIMIT): string =>
  text.length > limit ? `${text.slice(0, limit)}… (${text.length} characters)` : text

/** A codec from a parser that answers `undefined` for invalid text, with one reason for all failures. */
export const fromParser = <A>(
  parse: (text: string) => A | undefined,
  format: (value: A) => string,
  reason: (text: string) => string
): TextCodec<A> => ({
  parse: (text) => {
    const value = parse(text)
    return value === undefined ? Result.fail(reason(text)) : Result.succeed(value)
  },
  format
})
