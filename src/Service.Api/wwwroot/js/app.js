// The playground: four panels, each calling only the public routes REST clients use.
import { initSimilarity } from './similarity.js';
import { initSearch } from './search.js';
import { initDiffusion } from './diffusion.js';
import { initService } from './service.js';

await Promise.all([initSimilarity(), initSearch(), initDiffusion(), initService()]);
document.body.dataset.ready = 'true';
