/**
 * Scripting limits, units last. (They sit here rather than in src/limits.ts because this
 * room was added while that file had another owner; the lead may move them.)
 */
export const scriptLimits = {
  /** Redis's busy-reply-threshold (lua-time-limit) default: after this, others get BUSY. */
  busyReplyThresholdMs: 5_000,
  /** FUNCTION LOAD stops library code that runs longer than this (Redis's LOAD_TIMEOUT_MS). */
  functionLoadTimeoutMs: 500,
  /** Instructions between two checks of the clock and of SCRIPT KILL. */
  hookInstructions: 10_000,
  /** While busy, the script gives the event loop a turn this often (BUSY replies, SCRIPT KILL). */
  busyYieldEveryMs: 10,
  /** A script is stopped after this many Lua instructions (a runaway that has written can't be killed). */
  instructionsMax: 5_000_000_000,
  /** Largest string a script may build with string.rep (Redis's proto-max-bulk-len). */
  stringBytesMax: 512 * 1024 * 1024,
  /** Lua stack depth a reply conversion may nest (Redis refuses deeper replies too). */
  replyDepthMax: 1000,
} as const;
