/** A user's notification preferences: every category on every channel, chosen or default. */
import { badInput } from '@coursegraph/service-kit';
import type {
  NotificationCategory,
  NotificationChannel,
  NotificationFrequency,
  PrismaClient,
} from '../generated/prisma/client.js';
import { CATEGORIES, CHANNELS, defaultFrequency, FREQUENCIES_OF } from './catalog.js';

export interface PreferenceView {
  category: NotificationCategory;
  channel: NotificationChannel;
  frequency: NotificationFrequency;
  isDefault: boolean;
}

export async function preferencesOf(db: PrismaClient, userId: string): Promise<PreferenceView[]> {
  const rows = await db.notificationPreference.findMany({ where: { userId } });
  return CATEGORIES.flatMap((category) =>
    CHANNELS.map((channel) => {
      const chosen = rows.find((r) => r.category === category && r.channel === channel);
      return {
        category,
        channel,
        frequency: chosen?.frequency ?? defaultFrequency(category, channel),
        isDefault: !chosen,
      };
    }),
  );
}

export async function updatePreference(
  db: PrismaClient,
  userId: string,
  input: { category: NotificationCategory; channel: NotificationChannel; frequency: NotificationFrequency },
): Promise<PreferenceView> {
  const { category, channel, frequency } = input;
  // GraphQL checks the enums; the combination is ours to check, before anything is written.
  if (!FREQUENCIES_OF[channel].includes(frequency)) {
    throw badInput(
      `${channel} takes ${FREQUENCIES_OF[channel].join(' or ')}; digests are for EMAIL only.`,
      'frequency',
    );
  }
  await db.notificationPreference.upsert({
    where: { userId_category_channel: { userId, category, channel } },
    create: { userId, category, channel, frequency },
    update: { frequency },
  });
  return { category, channel, frequency, isDefault: false };
}
