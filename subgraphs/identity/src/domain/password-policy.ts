import { badInput } from '@coursegraph/service-kit';

export const PASSWORD_MIN_LENGTH = 10;
/** Upper bound so that hashing cost cannot be used to exhaust the server. */
export const PASSWORD_MAX_LENGTH = 128;

// The most common choices that pass a length rule; length alone does not stop these.
const COMMON = new Set([
  'password12',
  'password123',
  'password1234',
  '1234567890',
  '12345678910',
  'qwertyuiop',
  'qwerty1234',
  'iloveyou12',
  'letmein123',
  'welcome123',
  'football12',
  'baseball12',
  'abcdefghij',
  'abc1234567',
  'passw0rd12',
  'changeme12',
  'administrator',
  'trustno1234',
  '0987654321',
  '1q2w3e4r5t',
  'zaq12wsxcde',
  'superman12',
  'qwertyuiop1',
  'password!1',
  'p@ssword123',
]);

/**
 * Length-based policy in the spirit of NIST SP 800-63B: long enough, not a known common password,
 * not built from the email's name, not one character repeated. No composition rules.
 */
export function checkPasswordPolicy(password: string, email: string): void {
  if (password.length < PASSWORD_MIN_LENGTH) {
    throw badInput(`Password must be at least ${PASSWORD_MIN_LENGTH} characters.`, 'password');
  }
  if (password.length > PASSWORD_MAX_LENGTH) {
    throw badInput(`Password must be at most ${PASSWORD_MAX_LENGTH} characters.`, 'password');
  }
  const lower = password.toLowerCase();
  if (COMMON.has(lower)) throw badInput('Password is too common; choose another.', 'password');
  if (new Set(password).size < 4) throw badInput('Password must use at least 4 different characters.', 'password');
  const local = email.trim().toLowerCase().split('@')[0] ?? '';
  if (local.length >= 3 && lower.includes(local)) {
    throw badInput('Password must not contain the name part of your email.', 'password');
  }
}
