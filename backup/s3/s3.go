package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/keel-go/keel/backup"
)

// Config configures a Storage.
type Config struct {
	// Endpoint is host[:port] of the S3 service, e.g. "s3.amazonaws.com". Required.
	Endpoint string
	// Bucket must exist. Required.
	Bucket string
	// Prefix is prepended to every object name ("backups/sales/").
	Prefix string
	// Region defaults to "us-east-1".
	Region string
	// AccessKeyID and SecretAccessKey are the credentials. Required.
	AccessKeyID, SecretAccessKey string
	// Insecure uses plain HTTP (for a loopback test server only).
	Insecure bool
	// PartSize of the multipart upload; default 16 MiB, minimum 5 MiB.
	PartSize uint64
}

// Storage stores objects in one bucket under a prefix.
type Storage struct {
	cfg    Config
	client *minio.Client
}

const defaultPartSize = 16 << 20

// New validates cfg. It does not contact the service.
func New(cfg Config) (*Storage, error) {
	switch {
	case cfg.Endpoint == "":
		return nil, errors.New("s3: Config.Endpoint is required")
	case cfg.Bucket == "":
		return nil, errors.New("s3: Config.Bucket is required")
	case cfg.AccessKeyID == "" || cfg.SecretAccessKey == "":
		return nil, errors.New("s3: Config.AccessKeyID and Config.SecretAccessKey are required")
	case cfg.PartSize != 0 && cfg.PartSize < 5<<20:
		return nil, fmt.Errorf("s3: Config.PartSize must be at least 5 MiB, got %d", cfg.PartSize)
	}
	if cfg.PartSize == 0 {
		cfg.PartSize = defaultPartSize
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKeyID, cfg.SecretAccessKey, ""),
		Secure: !cfg.Insecure,
		Region: cfg.Region,
	})
	if err != nil {
		return nil, fmt.Errorf("s3: Config.Endpoint: %w", err)
	}
	return &Storage{cfg: cfg, client: client}, nil
}

func (s *Storage) key(name string) string { return s.cfg.Prefix + name }

// Put implements backup.Storage.
func (s *Storage) Put(ctx context.Context, name string, r io.Reader) error {
	if err := backup.ValidObjectName(name); err != nil {
		return err
	}
	_, err := s.client.PutObject(ctx, s.cfg.Bucket, s.key(name), r, -1, minio.PutObjectOptions{
		PartSize:    s.cfg.PartSize,
		ContentType: "application/octet-stream",
	})
	if err != nil {
		return fmt.Errorf("s3: put %s: %w", s.key(name), err)
	}
	return nil
}

// Get implements backup.Storage.
func (s *Storage) Get(ctx context.Context, name string) (io.ReadCloser, error) {
	if err := backup.ValidObjectName(name); err != nil {
		return nil, err
	}
	obj, err := s.client.GetObject(ctx, s.cfg.Bucket, s.key(name), minio.GetObjectOptions{})
	if err == nil {
		_, err = obj.Stat()
	}
	if err != nil {
		if obj != nil {
			_ = obj.Close()
		}
		if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
			return nil, fmt.Errorf("%w: %s", backup.ErrNotFound, s.key(name))
		}
		return nil, fmt.Errorf("s3: get %s: %w", s.key(name), err)
	}
	return obj, nil
}

// List implements backup.Storage.
func (s *Storage) List(ctx context.Context) ([]string, error) {
	var names []string
	for obj := range s.client.ListObjects(ctx, s.cfg.Bucket, minio.ListObjectsOptions{Prefix: s.cfg.Prefix}) {
		if obj.Err != nil {
			return nil, fmt.Errorf("s3: list: %w", obj.Err)
		}
		name := strings.TrimPrefix(obj.Key, s.cfg.Prefix)
		if name != "" && !strings.Contains(name, "/") {
			names = append(names, name)
		}
	}
	return names, nil
}

// Delete implements backup.Storage.
func (s *Storage) Delete(ctx context.Context, name string) error {
	if err := backup.ValidObjectName(name); err != nil {
		return err
	}
	if err := s.client.RemoveObject(ctx, s.cfg.Bucket, s.key(name), minio.RemoveObjectOptions{}); err != nil {
		if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
			return nil
		}
		return fmt.Errorf("s3: delete %s: %w", s.key(name), err)
	}
	return nil
}

var _ backup.Storage = (*Storage)(nil)
