-- AlterTable
ALTER TABLE "Model" ADD COLUMN "servingArtifact" TEXT;

-- CreateTable
CREATE TABLE "Deployment" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "projectId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "modelName" TEXT NOT NULL,
    "modelVersion" INTEGER,
    "modelAlias" TEXT,
    "traffic" JSONB NOT NULL,
    "shadowVersion" INTEGER,
    "loggingEnabled" BOOLEAN NOT NULL DEFAULT false,
    "loggingSampleRate" REAL NOT NULL DEFAULT 1,
    "logGroupId" TEXT,
    "state" TEXT NOT NULL DEFAULT 'STOPPED',
    "description" TEXT NOT NULL DEFAULT '',
    "createdBy" TEXT NOT NULL DEFAULT '',
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    CONSTRAINT "Deployment_projectId_fkey" FOREIGN KEY ("projectId") REFERENCES "Project" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE UNIQUE INDEX "Deployment_projectId_name_key" ON "Deployment"("projectId", "name");
