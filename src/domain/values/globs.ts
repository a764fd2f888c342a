/** `*` globs, as the plugin's `extra_labels` uses them (go-glob semantics). */

/** Glob match where `*` matches any run of characters (the only wildcard). */
export const globMatch = (pattern: string, subject: string): boolean => {
  const re = new RegExp(
    "^" + pattern.split("*").map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(".*") + "$",
    "s"
  )
  return re.test(subject)
}
