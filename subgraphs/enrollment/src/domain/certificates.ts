/**
 * Certificates: proof that a learner completed a course, verifiable by anyone through an
 * unguessable public id. Issued on completion of a FREE or PAID enrolment (never an audit),
 * revoked when the enrolment behind it is fully refunded. A revoked certificate keeps its row, so
 * its public id goes on verifying, as revoked; completing the course again after buying it again
 * issues a new one beside it (at most one in force per enrolment: a partial unique index).
 */
import { randomBytes } from 'node:crypto';
import { EnrollmentEvents } from '@coursegraph/contracts';
import { enqueueEvent, newId } from '@coursegraph/service-kit';
import type { Certificate, Enrollment } from '../generated/prisma/client.js';
import type { Tx } from '../data/db.js';

const CONTEXT = 'enrollment';

const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'; // no 0/O, 1/I: read aloud and typed by people

/** An unguessable public id such as CG-7KQ2-M9XD-4HTW-PZ3A-8RNE (100 bits of randomness). */
export function newCertificatePublicId(): string {
  const bytes = randomBytes(20);
  const chars = [...bytes].map((b) => ALPHABET[b % 32]).join('');
  return `CG-${chars.match(/.{4}/g)!.join('-')}`;
}

export const isCertificatePublicId = (value: string): boolean => /^CG(-[A-HJ-NP-Z2-9]{4}){5}$/.test(value);

/** Why a certificate stopped vouching for its holder. */
export type CertificateRevokeReason = 'REFUNDED';

/**
 * Issues the enrolment's certificate, unless it is an audit or one is already in force (a learner
 * who unenrolled and completes again keeps the certificate they earned first).
 */
export async function issueCertificate(
  tx: Tx,
  enrollment: Enrollment,
  courseTitle: string,
  traceparent?: string,
): Promise<Certificate | null> {
  if (enrollment.mode === 'AUDIT') return null;
  const inForce = await tx.certificate.findFirst({
    where: { enrollmentId: enrollment.id, revokedAt: null },
    select: { id: true },
  });
  if (inForce) return null;
  const certificate = await tx.certificate.create({
    data: {
      id: newId(),
      publicId: newCertificatePublicId(),
      userId: enrollment.userId,
      enrollmentId: enrollment.id,
      courseId: enrollment.courseId,
      courseTitle,
    },
  });
  await enqueueEvent(
    tx,
    CONTEXT,
    EnrollmentEvents.certificateIssued,
    {
      certificateId: certificate.id,
      publicId: certificate.publicId,
      enrollmentId: enrollment.id,
      userId: enrollment.userId,
      courseId: enrollment.courseId,
      issuedAt: certificate.issuedAt.toISOString(),
    },
    { traceparent },
  );
  return certificate;
}

/** Revokes the enrolment's certificate in force, if any, and announces it. */
export async function revokeCertificates(
  tx: Tx,
  enrollment: Enrollment,
  reason: CertificateRevokeReason,
  revokedAt: Date,
  traceparent?: string,
): Promise<Certificate[]> {
  const inForce = await tx.certificate.findMany({
    where: { enrollmentId: enrollment.id, userId: enrollment.userId, revokedAt: null },
  });
  const revoked: Certificate[] = [];
  for (const certificate of inForce) {
    // Conditional, so a certificate revoked concurrently is announced once.
    const { count } = await tx.certificate.updateMany({
      where: { id: certificate.id, revokedAt: null },
      data: { revokedAt, revokeReason: reason },
    });
    if (count === 0) continue;
    await enqueueEvent(
      tx,
      CONTEXT,
      EnrollmentEvents.certificateRevoked,
      {
        certificateId: certificate.id,
        publicId: certificate.publicId,
        enrollmentId: enrollment.id,
        userId: enrollment.userId,
        courseId: enrollment.courseId,
        reason,
        revokedAt: revokedAt.toISOString(),
      },
      { traceparent },
    );
    revoked.push({ ...certificate, revokedAt, revokeReason: reason });
  }
  return revoked;
}

/** The certificate an enrolment shows: the one in force, else the one revoked last. */
export function currentCertificate(certificates: Certificate[]): Certificate | null {
  const inForce = certificates.find((c) => c.revokedAt === null);
  if (inForce) return inForce;
  // Ids are UUID v7: the greatest is the newest.
  return certificates.reduce<Certificate | null>((last, c) => (last === null || c.id > last.id ? c : last), null);
}
