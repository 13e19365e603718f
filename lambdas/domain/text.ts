/**
 * Text from a Patroni reply (an error it caused, a reason in `/history`) ends up in front of people: in a
 * terminal, in Slack, in an SMS or an email. These make it inert there. Names, roles and states are refused at
 * the parser already; this is for the free text that remains, and for defence in depth.
 */

/**
 * C0 and C1 control characters (newlines, the terminal's ESC), DEL, zero-width characters and Unicode's
 * direction overrides: each can forge a line, rewrite a terminal or hide text.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is what this expression is for.
const INVISIBLE_OR_CONTROL = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff]/g;

/** Every control or invisible character becomes `?`: one line stays one line, and what it says is what it shows. */
export function neutralise(text: string): string {
  return text.replace(INVISIBLE_OR_CONTROL, '?');
}

/**
 * Slack mrkdwn from untrusted text: neutralised, then `&`, `<` and `>` escaped as Slack asks, so that
 * `<!channel>` or `<http://evil.example/|open runbook>` shows as typed instead of pinging or linking.
 */
export function slackEscape(text: string): string {
  return neutralise(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** `scheme://user:password@host` anywhere in a text becomes `scheme://***@host`. */
export function redactCredentials(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/gi, '$1***@');
}
