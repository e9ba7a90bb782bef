import { contextPrismaConfig } from '../context-config.ts';

export default contextPrismaConfig('notification', import.meta.dirname);
