/** `btoa` and `atob` (Latin-1 text ⇄ base64), pure guest code. */
import { DOMException } from './dom-exception.ts';
import { StringCtor } from './intrinsics.ts';

export const base64Alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
export function btoa(input: unknown): string {
  const text = StringCtor(input);
  let output = '';
  for (let index = 0; index < text.length; index += 3) {
    const a = text.charCodeAt(index);
    const b = text.charCodeAt(index + 1);
    const c = text.charCodeAt(index + 2);
    if (a > 255 || b > 255 || c > 255) {
      throw new DOMException('Invalid character: btoa only accepts Latin-1 text', 'InvalidCharacterError');
    }
    const bits = (a << 16) | ((b || 0) << 8) | (c || 0);
    output += base64Alphabet.charAt((bits >> 18) & 63) + base64Alphabet.charAt((bits >> 12) & 63);
    output += index + 1 < text.length ? base64Alphabet.charAt((bits >> 6) & 63) : '=';
    output += index + 2 < text.length ? base64Alphabet.charAt(bits & 63) : '=';
  }
  return output;
}
export function atob(input: unknown): string {
  let text = StringCtor(input).replace(/[\t\n\f\r ]/g, '');
  if (text.length % 4 === 0) text = text.replace(/==?$/, '');
  if (text.length % 4 === 1 || /[^A-Za-z0-9+/]/.test(text)) {
    throw new DOMException('The string to be decoded is not correctly encoded.', 'InvalidCharacterError');
  }
  let output = '';
  let bits = 0;
  let count = 0;
  for (const char of text) {
    bits = (bits << 6) | base64Alphabet.indexOf(char);
    count += 6;
    if (count >= 8) {
      count -= 8;
      output += StringCtor.fromCharCode((bits >> count) & 255);
    }
  }
  return output;
}
