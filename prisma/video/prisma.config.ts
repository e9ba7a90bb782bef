import { contextPrismaConfig } from '../context-config.ts';

export default contextPrismaConfig('video', import.meta.dirname);
