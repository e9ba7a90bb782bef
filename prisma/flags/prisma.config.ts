import { contextPrismaConfig } from '../context-config.ts';

export default contextPrismaConfig('flags', import.meta.dirname);
