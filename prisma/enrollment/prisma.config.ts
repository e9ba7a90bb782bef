import { contextPrismaConfig } from '../context-config.ts';

export default contextPrismaConfig('enrollment', import.meta.dirname);
