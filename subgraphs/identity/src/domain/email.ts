import { badInput } from '@coursegraph/service-kit';

// Deliberately modest: one @, something before it, a dotted domain after it, no spaces.
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** The uniqueness key of an email: trimmed and lower-cased, so case never makes a second account. */
export const emailKey = (email: string): string => email.trim().toLowerCase();

/** Checks an email as typed and returns it trimmed; BAD_USER_INPUT when it is not an address. */
export function validateEmail(email: string): string {
  const trimmed = email.trim();
  if (trimmed.length === 0) throw badInput('Email is required.', 'email');
  if (trimmed.length > 254) throw badInput('Email must be at most 254 characters.', 'email');
  if (!EMAIL.test(trimmed)) throw badInput('Email must look like name@example.com.', 'email');
  return trimmed;
}

/** A display name: 1 to 100 characters after trimming, no control characters. */
export function validateName(name: string): string {
  const trimmed = name.trim();
  if (trimmed.length === 0) throw badInput('Name is required.', 'name');
  if (trimmed.length > 100) throw badInput('Name must be at most 100 characters.', 'name');
  if (/\p{Cc}/u.test(trimmed)) throw badInput('Name must not contain control characters.', 'name');
  return trimmed;
}
