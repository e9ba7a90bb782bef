import { contextPrismaConfig } from '../context-config.ts';

export default contextPrismaConfig('learning', import.meta.dirname);
