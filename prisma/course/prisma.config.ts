import { contextPrismaConfig } from '../context-config.ts';

export default contextPrismaConfig('course', import.meta.dirname);
