import { contextPrismaConfig } from '../context-config.ts';

export default contextPrismaConfig('ai', import.meta.dirname);
