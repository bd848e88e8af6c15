// How live session events change the dashboard's view of an attempt.

/** An attempt the proctor should look at: flagged, or in progress with a focus loss or no phone connected. */
export function needsAttention(a) {
  return a.flagged || (a.status === 'IN_PROGRESS' && (a.phoneState !== 'CONNECTED' || a.focusLosses > 0));
}

/** Applies one live event to the attempt it names; returns the new attempt or null when it changes nothing. */
export function applyEvent(a, e) {
  switch (e.type) {
    case 'FOCUS_LOSS':
      return e.count != null ? { ...a, focusLosses: Math.max(a.focusLosses, e.count) } : null;
    case 'PHONE_CONNECTED':
    case 'PHONE_BACK':
      return { ...a, phoneState: 'CONNECTED', phoneLastSeenAt: e.at };
    case 'PHONE_LOST':
      return { ...a, phoneState: 'LOST' };
    case 'PHONE_ENDED':
      return { ...a, phoneState: 'NONE' };
    case 'FLAG':
      return e.flagged != null ? { ...a, flagged: e.flagged } : null;
    case 'SUBMITTED':
    case 'AUTO_SUBMITTED':
      return { ...a, status: 'SUBMITTED', submittedAt: e.at, submitReason: e.reason || a.submitReason };
    default:
      return null;
  }
}
