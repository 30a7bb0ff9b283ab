/**
 * `--import ./bench/use-dist.mjs` (after `--import tsx`): the benchmarks import `src/…` (so they
 * type-check against the source), but run the compiled library in `dist/lib` (`npm run build`),
 * which is what embedders and the daemon run. tsx compiles with esbuild's `keepNames`, which
 * wraps every named closure in `__name(…)` (an own `name` property: ~256 bytes and a
 * `defineProperty` per closure created), and that is not the code users get.
 */
import { register } from "node:module"

register("./use-dist-hooks.mjs", import.meta.url)
