// Stands in for `yaml`, `toml` and `ini` in the bundled CLI. @effect/cli only calls them for options
// that parse a config file (Options.fileParse and friends), which Jarvis does not use; bundling them
// would make every cold start parse 400 KB of code for nothing.
export const parse = () => {
  throw new Error("config-file parsing is not part of the bundled jarvis CLI")
}
