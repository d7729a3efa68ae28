-- AlterTable
ALTER TABLE "FeatureGroup" ADD COLUMN     "dataSourceId" TEXT,
ADD COLUMN     "external" JSONB;

-- CreateTable
CREATE TABLE "DataSource" (
    "id" TEXT NOT NULL,
    "projectId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "config" JSONB NOT NULL,
    "sealedPassword" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "DataSource_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "DataSource_projectId_name_key" ON "DataSource"("projectId", "name");

-- CreateIndex
CREATE INDEX "FeatureGroup_dataSourceId_idx" ON "FeatureGroup"("dataSourceId");

-- AddForeignKey
ALTER TABLE "FeatureGroup" ADD CONSTRAINT "FeatureGroup_dataSourceId_fkey" FOREIGN KEY ("dataSourceId") REFERENCES "DataSource"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "DataSource" ADD CONSTRAINT "DataSource_projectId_fkey" FOREIGN KEY ("projectId") REFERENCES "Project"("id") ON DELETE CASCADE ON UPDATE CASCADE;
