package certificate

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/attachment"
	entcert "github.com/kaowu/kaowu/ent/certificate"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/idcard"
	"github.com/kaowu/kaowu/internal/pdf"
	"github.com/kaowu/kaowu/internal/storage"
	"github.com/kaowu/kaowu/internal/viewer"
)

// maxPhotoBytes bounds what is read from the store for a photo.
const maxPhotoBytes = 20 << 20

var categoryLabels = map[string]string{
	"A": "A 类（主要负责人）", "B": "B 类（项目负责人）",
	"C1": "C1 类（机械类专职安全生产管理人员）", "C2": "C2 类（土建类专职安全生产管理人员）",
}

// PDF renders a certificate the viewer may see (holder, issuing site,
// ADMIN): Chinese text, the holder's current ID photo, and a QR code with
// the verification link signed over the certificate's current state. A
// cancelled certificate is not printed.
func (s *Service) PDF(ctx context.Context, id int) ([]byte, error) {
	_, c, err := s.visible(ctx, id)
	if err != nil {
		return nil, err
	}
	if c.Status == entcert.StatusCANCELLED {
		return nil, apperr.New(apperr.Conflict, "证书已注销，不能下载")
	}
	link, err := s.link(c)
	if err != nil {
		return nil, err
	}
	photo, err := s.idPhoto(ctx, c.HolderID)
	if err != nil {
		return nil, err
	}
	return s.render(c, link, photo)
}

// idPhoto returns the holder's latest ID photo, or nil when there is none
// or its blob is gone (the certificate then shows an empty photo box).
func (s *Service) idPhoto(ctx context.Context, userID int) ([]byte, error) {
	a, err := s.db(ctx).Attachment.Query().
		Where(attachment.OwnerID(userID), attachment.KindEQ(attachment.KindID_PHOTO)).
		Order(ent.Desc(attachment.FieldCreatedAt), ent.Desc(attachment.FieldID)).
		First(viewer.SystemContext(ctx))
	if ent.IsNotFound(err) || s.Store == nil {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	rc, _, err := s.Store.Get(ctx, a.BlobKey)
	if errors.Is(err, storage.ErrNotFound) {
		s.log().WarnContext(ctx, "id photo blob missing", "attachment", a.ID)
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("certificate: read id photo: %w", err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxPhotoBytes+1))
	if err != nil {
		return nil, fmt.Errorf("certificate: read id photo: %w", err)
	}
	if len(b) > maxPhotoBytes {
		return nil, nil
	}
	return b, nil
}

const (
	photoW = 96.0
	photoH = 128.0
	qrSize = 110.0
	gutter = 14.0
)

func (s *Service) render(c *ent.Certificate, link string, photo []byte) ([]byte, error) {
	now := s.now()
	doc, err := pdf.New(pdf.Options{
		Title: "证书 " + c.Number, Subject: c.SubjectName, Created: now,
		Footer: fmt.Sprintf("%s    第 %d 版    签名密钥 %s    打印时间 %s", c.Authority, c.Revision, s.Keys.ActiveID(),
			now.In(ChinaTZ).Format("2006-01-02 15:04")),
	})
	if err != nil {
		return nil, err
	}
	doc.Title("安全生产考核合格证书")
	doc.Subtitle(c.Authority)
	doc.Space(8)

	idLine := c.HolderIDMasked
	if l := idcard.DocType(c.HolderIDType).Label(); l != "" {
		idLine = l + "  " + idLine
	}
	subject := c.SubjectName + "（" + c.SubjectCode + "）"
	if l := categoryLabels[c.Category]; l != "" {
		subject += "  " + l
	}
	from, until := c.ValidFrom.In(ChinaTZ), lastDay(c.ValidUntil)
	top := doc.Y()
	tableW := doc.ContentWidth() - photoW - gutter
	rightX := doc.Left() + tableW + gutter
	doc.Table(doc.Left(), tableW, 80, []pdf.Row{
		{Key: "证书编号", Value: c.Number},
		{Key: "姓名", Value: c.HolderName},
		{Key: "证件号码", Value: idLine},
		{Key: "考核科目", Value: subject},
		{Key: "工作单位", Value: c.Employer},
		{Key: "所属区域", Value: c.RegionName},
		{Key: "考核点", Value: c.SiteName},
		{Key: "发证机关", Value: c.Authority},
		{Key: "发证日期", Value: c.IssuedAt.In(ChinaTZ).Format("2006年01月02日")},
		{Key: "有效期", Value: from.Format("2006年01月02日") + " 至 " + until.Format("2006年01月02日")},
	})
	tableBottom := doc.Y()

	s.photoBox(doc, photo, rightX, top)
	qrY := top + photoH + 10
	if err := doc.QRCode(link, rightX-(qrSize-photoW)/2, qrY, qrSize); err != nil {
		return nil, err
	}
	doc.Text(rightX+4, qrY+qrSize+2, "扫码验证证书真伪", 8.5)

	doc.SetY(max(tableBottom, qrY+qrSize+16) + 12)
	if effective(c, now) == entcert.StatusEXPIRED {
		doc.Paragraph("注意：本证书已超过有效期，不再有效。", 11)
		doc.Space(6)
	}
	doc.Paragraph("经考核合格，特发此证。持证人应在有效期届满前3个月内申请延续，逾期证书失效。", 10.5)
	doc.Space(6)
	doc.Paragraph("证书信息以系统查询结果为准：可扫描二维码核验，或登录 "+s.PublicURL+" 按证书编号、姓名和证件号码查询。"+
		"证书信息变更、延续或注销后，旧版证书的二维码将显示其最新状态。", 9)
	return doc.Bytes()
}

// photoBox draws the photo, or an empty box when there is none or it is not
// a picture (a PDF upload, say).
func (s *Service) photoBox(doc *pdf.Doc, photo []byte, x, y float64) {
	if photo != nil {
		err := doc.Image(photo, x, y, photoW, photoH)
		if err == nil {
			doc.Rect(x, y, photoW, photoH)
			return
		}
		if !errors.Is(err, pdf.ErrUnsupportedImage) {
			s.log().Warn("id photo not drawn", "err", err)
		}
	}
	doc.Placeholder(x, y, photoW, photoH, "照片")
}
