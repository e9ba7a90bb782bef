/** The flags context's name: its outbox, its stream (FLAGS) and its subjects (flags.>). */
export const FLAGS_CONTEXT = 'flags';
