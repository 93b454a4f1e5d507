// C0 and C1 control characters and DEL: they break URLs, logs, filesystems and headers.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds
export const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/
