// Loaded into every test process (.taprc node-arg), after tap's own coverage hook. Tap measures coverage
// in the test process and, by default, in every Node child it spawns. A server a test spawns through tsx
// (or from dist/ with its source maps) reports the same source files compiled another way, and the merge
// corrupts the totals (lib/json.ts read 40 % covered in the full run, 80 % alone), so the coverage floor
// failed with every test passing. Children are tested by their behaviour, not counted (see .taprc): they
// inherit coverage off. This process goes on measuring (tap's hook read the switch before this ran); a test
// that re-executes itself (isolateNetwork in test/helpers/webrtc-client.ts) turns it back on for that copy.
export const COVERAGE_SWITCH = '_TAPJS_PROCESSINFO_COVERAGE_'
// The mark names this process (its pid): a child inherits it but is not this process, so a bench script a
// test spawns, which re-executes itself the same way (bench/chaos.ts), is not measured either (it was, and
// its tsx-compiled servers corrupted the totals: validate-playbook.ts read 56 % of functions, 93 % alone).
if (process.env[COVERAGE_SWITCH] === '1') {
  process.env.TEST_COVERAGE_OF_SELF = String(process.pid)
  process.env[COVERAGE_SWITCH] = '0'
}
