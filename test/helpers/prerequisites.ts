/**
 * Tests that need something a machine may lack (a PostgreSQL server, a browser, the spec files
 * beside the project). Locally a missing prerequisite skips them with a printed reason, counted
 * in the summary's "skipped". Under CI
 * nothing may vanish from the summary: the same missing prerequisite is a failing test naming
 * what is missing and how to provide it (the dependent tests are still skipped, so the failure
 * is that one line, not a cascade of confusing errors).
 */
import { test } from 'node:test';

/** CI is set (as GitHub Actions, GitLab and .ci/run set it), and not explicitly off. */
export const UNDER_CI = !!process.env.CI && !['0', 'false'].includes(process.env.CI.toLowerCase());

/**
 * The `skip` option for tests needing `what`: false when it is available (`unavailable` is
 * null), else the reason; under CI also registers a failing test with that reason.
 * Call it where the tests are declared (in a describe's options, or an it's).
 */
export function needs(what: string, unavailable: string | null | false): string | false {
  if (!unavailable) return false;
  if (UNDER_CI) {
    test(`CI cannot run the tests that need ${what}`, () => {
      throw new Error(`${what} is missing under CI (CI=${process.env.CI}): ${unavailable}`);
    });
  } else {
    // A skipped suite adds nothing to the runner's "skipped" count: this line makes it show.
    test(`tests that need ${what}`, { skip: unavailable }, () => {});
  }
  return unavailable;
}
