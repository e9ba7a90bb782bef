import { contextPrismaConfig } from '../context-config.ts';

export default contextPrismaConfig('identity', import.meta.dirname);
