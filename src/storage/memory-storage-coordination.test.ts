import { runCoordinationContract } from '../testing/coordination-contract.ts';
import { memoryStorage } from './memory-storage.ts';

runCoordinationContract('memoryStorage()', () => memoryStorage());
