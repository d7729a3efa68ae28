-- CreateTable
CREATE TABLE "FeatureView" (
    "id" TEXT NOT NULL,
    "projectId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "labels" JSONB NOT NULL,
    "query" JSONB NOT NULL,
    "transformations" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "FeatureView_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "FeatureViewGroup" (
    "featureViewId" TEXT NOT NULL,
    "featureGroupId" TEXT NOT NULL,

    CONSTRAINT "FeatureViewGroup_pkey" PRIMARY KEY ("featureViewId","featureGroupId")
);

-- CreateTable
CREATE TABLE "TrainingDataset" (
    "id" TEXT NOT NULL,
    "featureViewId" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "split" JSONB NOT NULL,
    "format" TEXT NOT NULL,
    "splits" JSONB NOT NULL,
    "transformationParams" JSONB NOT NULL,
    "statistics" JSONB,
    "state" TEXT NOT NULL DEFAULT 'READY',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "TrainingDataset_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Model" (
    "id" TEXT NOT NULL,
    "projectId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "framework" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "metrics" JSONB NOT NULL,
    "inputExample" JSONB,
    "modelSchema" JSONB,
    "featureViewId" TEXT,
    "trainingDatasetId" TEXT,
    "state" TEXT NOT NULL DEFAULT 'READY',
    "createdBy" TEXT NOT NULL DEFAULT '',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Model_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ModelFile" (
    "id" TEXT NOT NULL,
    "modelId" TEXT NOT NULL,
    "path" TEXT NOT NULL,
    "size" BIGINT NOT NULL,
    "sha256" TEXT NOT NULL,

    CONSTRAINT "ModelFile_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ModelAlias" (
    "id" TEXT NOT NULL,
    "projectId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "alias" TEXT NOT NULL,
    "modelId" TEXT NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ModelAlias_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "FeatureView_projectId_name_version_key" ON "FeatureView"("projectId", "name", "version");

-- CreateIndex
CREATE INDEX "FeatureViewGroup_featureGroupId_idx" ON "FeatureViewGroup"("featureGroupId");

-- CreateIndex
CREATE UNIQUE INDEX "TrainingDataset_featureViewId_version_key" ON "TrainingDataset"("featureViewId", "version");

-- CreateIndex
CREATE INDEX "Model_featureViewId_idx" ON "Model"("featureViewId");

-- CreateIndex
CREATE UNIQUE INDEX "Model_projectId_name_version_key" ON "Model"("projectId", "name", "version");

-- CreateIndex
CREATE UNIQUE INDEX "ModelFile_modelId_path_key" ON "ModelFile"("modelId", "path");

-- CreateIndex
CREATE UNIQUE INDEX "ModelAlias_projectId_name_alias_key" ON "ModelAlias"("projectId", "name", "alias");

-- AddForeignKey
ALTER TABLE "FeatureView" ADD CONSTRAINT "FeatureView_projectId_fkey" FOREIGN KEY ("projectId") REFERENCES "Project"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "FeatureViewGroup" ADD CONSTRAINT "FeatureViewGroup_featureViewId_fkey" FOREIGN KEY ("featureViewId") REFERENCES "FeatureView"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "FeatureViewGroup" ADD CONSTRAINT "FeatureViewGroup_featureGroupId_fkey" FOREIGN KEY ("featureGroupId") REFERENCES "FeatureGroup"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "TrainingDataset" ADD CONSTRAINT "TrainingDataset_featureViewId_fkey" FOREIGN KEY ("featureViewId") REFERENCES "FeatureView"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Model" ADD CONSTRAINT "Model_projectId_fkey" FOREIGN KEY ("projectId") REFERENCES "Project"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Model" ADD CONSTRAINT "Model_featureViewId_fkey" FOREIGN KEY ("featureViewId") REFERENCES "FeatureView"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Model" ADD CONSTRAINT "Model_trainingDatasetId_fkey" FOREIGN KEY ("trainingDatasetId") REFERENCES "TrainingDataset"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ModelFile" ADD CONSTRAINT "ModelFile_modelId_fkey" FOREIGN KEY ("modelId") REFERENCES "Model"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ModelAlias" ADD CONSTRAINT "ModelAlias_projectId_fkey" FOREIGN KEY ("projectId") REFERENCES "Project"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ModelAlias" ADD CONSTRAINT "ModelAlias_modelId_fkey" FOREIGN KEY ("modelId") REFERENCES "Model"("id") ON DELETE CASCADE ON UPDATE CASCADE;
