import { v7 as uuidv7 } from 'uuid';
import { z } from 'zod';
import { ConflictError, ForbiddenError } from '../errors.ts';
import type { Project } from '../generated/sqlite/client.ts';
import type { MetadataClient } from '../stores/metadata/client.ts';
import type { ApiKeyService } from './api-key.service.ts';
import type { RegistryEventsService } from './registry-events.service.ts';
import { parseInput } from './validation.ts';
import type { Viewer } from './viewer.ts';

const NAME = /^[a-z][a-z0-9_]{0,62}$/;

const createInput = z.object({
  name: z.string().regex(NAME, 'lower-case letters, digits and _, starting with a letter, at most 63 characters'),
  description: z.string().max(10_000).nullish(),
});
export type CreateProjectInput = z.input<typeof createInput>;

/** The project every fresh server creates, with its first ADMIN key. */
export const DEFAULT_PROJECT = 'default';

export class ProjectService {
  constructor(
    private readonly prisma: MetadataClient,
    private readonly events: RegistryEventsService,
    private readonly apiKeys: ApiKeyService,
  ) {}

  /** Creates a project (server admins only). The same name and description again returns it. */
  async create(viewer: Viewer, raw: CreateProjectInput): Promise<Project> {
    if (!viewer.serverAdmin) throw new ForbiddenError('only an ADMIN key of the first project can create projects');
    const input = parseInput(createInput, raw);
    const description = input.description ?? '';
    const existing = await this.prisma.project.findUnique({ where: { name: input.name } });
    if (existing) {
      if (existing.description === description) return existing;
      throw new ConflictError(`project ${input.name} already exists with another description`);
    }
    // The event belongs to the new project's feed; its id is chosen here to know it up front.
    const id = uuidv7();
    return this.events.change(id, async (tx) => {
      const value = await tx.project.create({ data: { id, name: input.name, description } });
      return { value, change: { kind: 'Project', objectId: id, name: value.name, action: 'CREATED' } };
    });
  }

  /**
   * On a server with no project yet, creates `default` and an ADMIN key for it and returns the
   * key's secret; otherwise returns undefined. Safe when several processes start at once.
   */
  async bootstrap(): Promise<string | undefined> {
    if ((await this.prisma.project.count()) > 0) return undefined;
    let project: Project;
    try {
      project = await this.prisma.project.create({
        data: { name: DEFAULT_PROJECT, description: 'Created on first start' },
      });
    } catch (error) {
      if (await this.prisma.project.findUnique({ where: { name: DEFAULT_PROJECT } })) return undefined;
      throw error;
    }
    const { secret } = await this.apiKeys.mint(project.id, 'admin', ['ADMIN'], null);
    return secret;
  }
}
