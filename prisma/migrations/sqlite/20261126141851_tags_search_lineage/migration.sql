-- CreateTable
CREATE TABLE "CatalogEntry" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "projectId" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    "deletedAt" DATETIME,
    CONSTRAINT "CatalogEntry_projectId_fkey" FOREIGN KEY ("projectId") REFERENCES "Project" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "LineageEdge" (
    "fromId" TEXT NOT NULL,
    "toId" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,

    PRIMARY KEY ("fromId", "toId"),
    CONSTRAINT "LineageEdge_fromId_fkey" FOREIGN KEY ("fromId") REFERENCES "CatalogEntry" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "LineageEdge_toId_fkey" FOREIGN KEY ("toId") REFERENCES "CatalogEntry" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "TagSchema" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "projectId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "schema" JSONB NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "TagSchema_projectId_fkey" FOREIGN KEY ("projectId") REFERENCES "Project" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "Tag" (
    "entryId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "schemaId" TEXT NOT NULL,
    "value" JSONB NOT NULL,
    "valueKey" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,

    PRIMARY KEY ("entryId", "name"),
    CONSTRAINT "Tag_entryId_fkey" FOREIGN KEY ("entryId") REFERENCES "CatalogEntry" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "Tag_schemaId_fkey" FOREIGN KEY ("schemaId") REFERENCES "TagSchema" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "Keyword" (
    "entryId" TEXT NOT NULL,
    "keyword" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,

    PRIMARY KEY ("entryId", "keyword"),
    CONSTRAINT "Keyword_entryId_fkey" FOREIGN KEY ("entryId") REFERENCES "CatalogEntry" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "SearchDocument" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "entryId" TEXT NOT NULL,
    "projectId" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "nameTerms" TEXT NOT NULL,
    "terms" TEXT NOT NULL,
    "fields" TEXT NOT NULL,
    "indexVersion" INTEGER NOT NULL,
    "updatedAt" DATETIME NOT NULL,
    CONSTRAINT "SearchDocument_entryId_fkey" FOREIGN KEY ("entryId") REFERENCES "CatalogEntry" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE INDEX "CatalogEntry_projectId_kind_name_idx" ON "CatalogEntry"("projectId", "kind", "name");

-- CreateIndex
CREATE INDEX "LineageEdge_toId_idx" ON "LineageEdge"("toId");

-- CreateIndex
CREATE UNIQUE INDEX "TagSchema_projectId_name_key" ON "TagSchema"("projectId", "name");

-- CreateIndex
CREATE INDEX "Tag_schemaId_idx" ON "Tag"("schemaId");

-- CreateIndex
CREATE INDEX "Tag_name_valueKey_idx" ON "Tag"("name", "valueKey");

-- CreateIndex
CREATE INDEX "Keyword_keyword_idx" ON "Keyword"("keyword");

-- CreateIndex
CREATE UNIQUE INDEX "SearchDocument_entryId_key" ON "SearchDocument"("entryId");

-- CreateIndex
CREATE INDEX "SearchDocument_projectId_kind_idx" ON "SearchDocument"("projectId", "kind");

-- Hand-written below this line. --------------------------------------------------------------

-- The catalog and lineage of what exists already (search documents are built on the next start).
INSERT INTO "CatalogEntry" ("id", "projectId", "kind", "name", "version", "updatedAt")
  SELECT "id", "projectId", 'FEATURE_GROUP', "name", "version", CURRENT_TIMESTAMP FROM "FeatureGroup";
INSERT INTO "CatalogEntry" ("id", "projectId", "kind", "name", "version", "updatedAt")
  SELECT "id", "projectId", 'FEATURE_VIEW', "name", "version", CURRENT_TIMESTAMP FROM "FeatureView";
INSERT INTO "CatalogEntry" ("id", "projectId", "kind", "name", "version", "updatedAt")
  SELECT td."id", v."projectId", 'TRAINING_DATASET', v."name" || '_' || v."version", td."version", CURRENT_TIMESTAMP
  FROM "TrainingDataset" td JOIN "FeatureView" v ON v."id" = td."featureViewId";
INSERT INTO "CatalogEntry" ("id", "projectId", "kind", "name", "version", "updatedAt")
  SELECT "id", "projectId", 'MODEL', "name", "version", CURRENT_TIMESTAMP FROM "Model";
INSERT INTO "LineageEdge" ("fromId", "toId") SELECT "featureGroupId", "featureViewId" FROM "FeatureViewGroup";
INSERT INTO "LineageEdge" ("fromId", "toId") SELECT "featureViewId", "id" FROM "TrainingDataset";
INSERT INTO "LineageEdge" ("fromId", "toId") SELECT "trainingDatasetId", "id" FROM "Model" WHERE "trainingDatasetId" IS NOT NULL;
INSERT INTO "LineageEdge" ("fromId", "toId") SELECT "featureViewId", "id" FROM "Model" WHERE "featureViewId" IS NOT NULL;

-- Full-text index of SearchDocument.terms. Prisma does not model virtual tables, so
-- src/stores/metadata/migrate.ts names "SearchFts" and its shadow tables as external tables.
-- The terms are tokens the application has normalized already (lower case, no diacritics,
-- letters and digits only, one space between): the ascii tokenizer splits them at the spaces and
-- changes nothing else, so FTS5 indexes exactly the application's tokens.
CREATE VIRTUAL TABLE "SearchFts" USING fts5("terms", tokenize = 'ascii');

-- Kept in step with SearchDocument by the database itself (rowid = SearchDocument.id).
CREATE TRIGGER "SearchDocument_fts_insert" AFTER INSERT ON "SearchDocument" BEGIN
  INSERT INTO "SearchFts" (rowid, "terms") VALUES (new."id", new."terms");
END;

CREATE TRIGGER "SearchDocument_fts_update" AFTER UPDATE OF "terms" ON "SearchDocument" BEGIN
  DELETE FROM "SearchFts" WHERE rowid = old."id";
  INSERT INTO "SearchFts" (rowid, "terms") VALUES (new."id", new."terms");
END;

CREATE TRIGGER "SearchDocument_fts_delete" AFTER DELETE ON "SearchDocument" BEGIN
  DELETE FROM "SearchFts" WHERE rowid = old."id";
END;
