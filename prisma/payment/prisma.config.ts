import { contextPrismaConfig } from '../context-config.ts';

export default contextPrismaConfig('payment', import.meta.dirname);
